/**
 * lonas's scripting API: everything an experiment written in TypeScript needs, from one import.
 *
 *   import * as lonas from 'lonas';
 */
export { selectBackend, type BackendChoice } from './src/backend';
export type { LonasEvent, TrainEvent, SearchEvent, EvaluationEvent } from './src/events';

export { openCheckpoint, type Checkpoint } from './src/models/checkpoint';
export { buildModel, loadModel, loadCausalLM, architectureFromConfig, type LoadedModel } from './src/models/registry';
export type { CausalLM } from './src/models/causal-lm';
export { loadTokenizer } from './src/tokenizers/load-tokenizer';
export { batchEncode } from './src/tokenizers/batch-encode';
export { generate } from './src/eval/generate';

export { readNasConfig, nasConfigOf, elasticPlanFor, defaultLora, type NncfConfigSource } from './src/nas/nas-config';
export { SearchSpace, type SubnetConfig, type WidthGroup } from './src/nas/search-space';
export { ElasticPlan, type LoraPlan } from './src/nas/elastic-plan';
export { SuperNetwork } from './src/nas/super-network';
export { openSuperNetwork } from './src/nas/open-super-network';
export { subnetCost } from './src/nas/cost';
export { exportCompressedModel } from './src/nas/export-compressed';
export { saveAdapter, loadAdapter, readPeftAdapter } from './src/nas/peft-adapter';

export { stagesFrom } from './src/train/schedule';
export { collate, type Example, type MicroBatch } from './src/train/batches';
export { taskLoss } from './src/train/task-loss';
export { readLlmAdaptersJson, tokenizeForTraining, evaluationPrompt, splitValidation } from './src/data/llm-adapters';
export { readGlueTsv } from './src/data/glue';

export { train, type TrainerInput } from './actors/trainer';
export type { TrainResult } from './src/train/train-result';
export { search, type SearchInput } from './actors/search';
export type { SearchResult } from './src/search/search-result';
export { inProcessPool, type EvaluatorPool, type Candidate, type Evaluated } from './actors/evaluators/evaluator-pool';
export { workerPool, type WorkerPoolOptions } from './actors/evaluators/worker-pool';
export { queuePool, type QueuePoolOptions } from './actors/evaluators/queue-pool';
export { startQueueWorker, type QueueWorker, type QueueWorkerOptions } from './actors/evaluators/queue-worker';
export { prepareSetup, type EvalSetup, type PublishedSetup } from './src/distributed/eval-setup';
export { redisTarget, QueueError, type RedisTarget } from './src/distributed/redis-url';
export { modelIdentity, type ModelIdentity } from './src/models/model-identity';
export { builtInSamplers, samplerNamed } from './actors/samplers/registry';
export type { SamplerLogic, SamplerState, SampleEvent } from './actors/samplers/sampler';
export { samplerFromReducer, type SamplerReducer } from './actors/samplers/sampler-from-reducer';
export { builtInStrategies, strategyNamed } from './actors/strategies/registry';
export {
  defineStrategy,
  defineSampler,
  PluginRegistry,
  type StrategyPlugin,
  type SamplerPlugin,
  type StrategyContext,
  type SamplerContext,
} from './actors/plugins';
export { SeededRandom } from './src/util/seeded-random';
export type { SearchStrategy, StrategySettings } from './src/search/strategy';
export { LiveServer } from './tools/live/live-server';
export {
  experimentMachine,
  type ExperimentPhases,
  type ExperimentResults,
  type ExperimentPhaseActors,
  type PhaseInput,
} from './machines/experiment';
export { runExperiment, type ExperimentHandle, type ExperimentOutcome } from './actors/experiment/run-experiment';
export {
  experimentConfig,
  type ExperimentConfig,
  type ExperimentSettings,
  type StrategyChoice,
  type SamplerChoice,
  type EvaluatorsChoice,
} from './actors/experiment/experiment-config';
export { validatePhase, checkExperiment, type ExperimentPlan } from './actors/experiment/validate';
export { loadPhase, type LoadedExperiment } from './actors/experiment/load';
export { trainPhase } from './actors/experiment/train';
export { evalPhase } from './actors/experiment/evaluate';
export { testPhase } from './actors/experiment/test';
export { searchPhase } from './actors/experiment/search';
export type { EvaluatorConfig } from './src/experiment/evaluator-config';
export {
  taskConfig,
  type TaskConfig,
  type TaskSettings,
  type LlmTaskConfig,
  type GlueTaskConfig,
  type TextTaskConfig,
} from './src/tasks/task-config';
export type { Task, BoundTask, TaskContext, TaskObjective } from './src/tasks/task';
export { TRAINING_DEFAULTS, type TrainingSettings } from './src/train/training-settings';
export { stageSchedulerMachine } from './machines/stage-scheduler';
