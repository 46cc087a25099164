/**
 * lonas's scripting API: everything an experiment written in TypeScript needs, from one import.
 *
 *   import * as lonas from 'lonas';   // or '../src' inside this repository
 */
export { selectBackend, type BackendChoice } from './backend';
export type { LonasEvent, TrainEvent, SearchEvent, EvaluationEvent } from './events';

export { openCheckpoint, type Checkpoint } from './models/checkpoint';
export { buildModel, loadModel, loadCausalLM, architectureFromConfig, type LoadedModel } from './models/registry';
export type { CausalLM } from './models/causal-lm';
export { loadTokenizer } from './tokenizers/load-tokenizer';
export { batchEncode } from './tokenizers/batch-encode';
export { generate } from './eval/generate';

export { readNasConfig, elasticPlanFor, defaultLora } from './nas/nas-config';
export { SearchSpace, type SubnetConfig, type WidthGroup } from './nas/search-space';
export { ElasticPlan, type LoraPlan } from './nas/elastic-plan';
export { SuperNetwork } from './nas/super-network';
export { openSuperNetwork } from './nas/open-super-network';
export { subnetCost } from './nas/cost';
export { exportCompressedModel } from './nas/export-compressed';
export { saveAdapter, loadAdapter, readPeftAdapter } from './io/peft';

export { stagesFrom } from './train/schedule';
export { collate, type Example, type MicroBatch } from './train/batches';
export { taskLoss } from './train/task-loss';
export { readLlmAdaptersJson, tokenizeForTraining, evaluationPrompt, splitValidation } from './data/llm-adapters';
export { readGlueTsv } from './data/glue';

export { train, type TrainerInput, type TrainResult } from '../actors/trainer';
export { search, type SearchInput, type SearchResult } from '../actors/search';
export { inProcessPool, type EvaluatorPool, type Candidate, type Evaluated } from '../actors/evaluator-pool';
export { workerPool, type WorkerPoolOptions } from '../actors/worker-pool';
export { queuePool, type QueuePoolOptions } from '../actors/queue-pool';
export { startQueueWorker, type QueueWorker, type QueueWorkerOptions } from '../actors/queue-worker';
export { prepareSetup, type EvalSetup, type PublishedSetup } from './distributed/eval-setup';
export { redisTarget, QueueError, type RedisTarget } from './distributed/redis-url';
export { modelIdentity, type ModelIdentity } from './io/model-identity';
export { builtInSamplers, samplerNamed } from '../actors/samplers/registry';
export type { SamplerLogic, SamplerState, SampleEvent } from '../actors/samplers/sampler';
export { builtInStrategies, strategyNamed } from '../actors/strategies/registry';
export {
  defineStrategy,
  defineSampler,
  PluginRegistry,
  type StrategyPlugin,
  type SamplerPlugin,
  type StrategyContext,
  type SamplerContext,
} from '../actors/plugins';
export { SeededRandom } from './util/seeded-random';
export type { SearchStrategy, StrategySettings } from './search/strategy';
export { LiveServer } from '../actors/live';
export { experimentMachine, type ExperimentPhases, type ExperimentResults } from '../machines/experiment';
export { runExperiment, type ExperimentHandle, type ExperimentOutcome } from '../actors/experiment';
export type {
  ExperimentConfig,
  TaskConfig,
  LlmTaskConfig,
  GlueTaskConfig,
  TextTaskConfig,
} from './experiment/experiment-config';
export type { Task, BoundTask, TaskContext } from './tasks/task';
export { stageSchedulerMachine } from '../machines/stage-scheduler';
