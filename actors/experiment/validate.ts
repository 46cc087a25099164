import * as fs from 'fs';
import * as path from 'path';
import { PluginRegistry, pluginSettings } from '../plugins';
import type { SearchInput } from '../search';
import { evaluatorWorkerFile } from '../evaluators/worker-pool';
import { builtInSamplers } from '../samplers/registry';
import type { SamplerLogic } from '../samplers/sampler';
import { builtInStrategies } from '../strategies/registry';
import * as t from 'io-ts';
import type { NasConfig } from '../../src/nas/nas-config';
import { NncfSearchJson, rejectUnknownKeys, SamplerSectionJson } from '../../src/nas/nncf-config';
import type { SearchSpace } from '../../src/nas/search-space';
import { ExperimentError } from '../../src/util/experiment-error';
import type { Task } from '../../src/tasks/task';
import { globalScheduleFrom, stageSettingsNotDone, stagesFrom } from '../../src/train/schedule';
import { DEFAULT_EVAL_QUEUE } from '../../src/distributed/eval-job';
import { redisTarget } from '../../src/distributed/redis-url';
import type { ExperimentConfig } from '../../src/experiment/experiment-config';

/** The most training epochs a run may ask for. */
const MAX_EPOCHS = 100_000;

/** The search and sampler a config asks for, checked: `bootstrapNAS.search` and `lonas.sampler`. */
export interface SearchPlan {
  /** The search's inputs that come from the config, with a fresh strategy over `space`. */
  search(
    space: SearchSpace,
  ): Pick<SearchInput, 'space' | 'strategy' | 'algorithm' | 'numEvals' | 'population' | 'refAcc' | 'accDelta'>;
  sampler(space: SearchSpace, seed: number): SamplerLogic;
}

/** Where the search's candidates are scored: here, on worker threads, or on queue workers through Redis. */
export type EvaluatorChoice =
  { kind: 'here' } | { kind: 'threads'; size: number } | { kind: 'queue'; url: string; queue: string; field: string };

/**
 * The strategies and samplers a run can name: lonas's own, those of the config's `lonas.plugins`
 * (relative to the config file) and of `plugins` (relative to the working folder).
 */
function pluginsFor(nasConfig: NasConfig, plugins: string[] = []): PluginRegistry {
  const registry = new PluginRegistry([...builtInStrategies, ...builtInSamplers]);
  for (const file of nasConfig.nncf.lonas?.plugins ?? []) registry.load(file, path.dirname(nasConfig.source));
  for (const file of plugins) registry.load(file, process.cwd());
  return registry;
}

export function searchPlanOf(nasConfig: NasConfig, plugins?: string[]): SearchPlan {
  const where = nasConfig.source;
  const registry = pluginsFor(nasConfig, plugins);
  const search = nasConfig.nncf.bootstrapNAS.search ?? {};
  const strategy = registry.strategy(search.algorithm ?? 'NSGA2', where);
  // A section's keys are NNCF's (or the sampler's name) and the plug-in's settings: any other is a slip.
  const ownKeys = (section: t.Mixed, plugin: { settings?: t.Mixed }) =>
    plugin.settings === undefined ? section : t.intersection([section, plugin.settings]);
  rejectUnknownKeys(ownKeys(NncfSearchJson, strategy), search, where, [], 'bootstrapNAS.search');
  const strategySettings = pluginSettings(strategy, search, where);
  const numEvals = search.num_evals ?? 3000;
  const population = search.population ?? 40;
  if (!Number.isInteger(population) || population < 1 || population > numEvals) {
    throw new ExperimentError(
      `${where}: bootstrapNAS.search.population must be an integer between 1 and num_evals (${numEvals}), got ${population}`,
    );
  }
  const samplerSection = nasConfig.nncf.lonas?.sampler ?? {};
  const sampler = registry.sampler(samplerSection.name ?? 'uniform', where);
  rejectUnknownKeys(ownKeys(SamplerSectionJson, sampler), samplerSection, where, [], 'lonas.sampler');
  const samplerSettings = pluginSettings(sampler, samplerSection, where);
  return {
    search: (space) => ({
      space,
      strategy: strategy.create({
        choices: space.groups.map((g) => g.widths.length),
        population,
        seed: search.seed ?? 0,
        space,
        settings: strategySettings,
      }),
      algorithm: strategy.name,
      numEvals,
      population,
      refAcc: search.ref_acc ?? -1,
      accDelta: search.acc_delta ?? 1,
    }),
    sampler: (space, seed) => sampler.create({ space, seed, settings: samplerSettings }),
  };
}

/**
 * Every check that needs no model: the schedule, the search and sampler settings, the task's
 * files for the phases asked, the model and adapter paths, and an output folder that can be
 * written. Runs before anything loads, so a mistake costs seconds, not a training run. Returns
 * the checked search plan, and the settings that are accepted but not acted on, each with why.
 */
export function validateExperiment(
  config: ExperimentConfig,
  task: Task,
  nasConfig: NasConfig,
): SearchPlan & { evaluators: EvaluatorChoice; notDone: string[] } {
  const { phases } = config;
  const notDone: string[] = [];
  if (!phases.train && !phases.eval && !phases.test && !phases.search) {
    throw new ExperimentError('nothing to do: no phase (train, eval, test, search) was asked for');
  }
  if (phases.train) {
    const training = nasConfig.nncf.bootstrapNAS.training;
    stagesFrom(training?.schedule?.list_stage_descriptions, nasConfig.source);
    globalScheduleFrom(training?.lr_schedule, training?.schedule?.list_stage_descriptions, nasConfig.source);
    notDone.push(...stageSettingsNotDone(training?.schedule?.list_stage_descriptions, nasConfig.source));
  }
  const plan = searchPlanOf(nasConfig, config.plugins);
  task.validate(phases);
  const workers = config.evalWorkers ?? nasConfig.nncf.lonas?.eval_workers;
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 1)) {
    const field =
      config.evalWorkers !== undefined ? 'evalWorkers (--eval_workers)' : `${nasConfig.source}: lonas.eval_workers`;
    throw new ExperimentError(`${field} must be a positive integer, got ${workers}`);
  }
  if (phases.search && workers !== undefined && workers > 1) evaluatorWorkerFile();
  const queueUrl = config.evalQueue ?? nasConfig.nncf.lonas?.eval_queue;
  const queueField =
    config.evalQueue !== undefined ? 'evalQueue (--eval_queue)' : `${nasConfig.source}: lonas.eval_queue`;
  if (queueUrl !== undefined) {
    redisTarget(queueUrl, queueField);
    if (workers !== undefined && workers > 1) {
      throw new ExperimentError(
        `${queueField} and eval_workers ${workers} both ask where to evaluate: use one (queue workers take --concurrency)`,
      );
    }
  }
  const evaluators: EvaluatorChoice =
    queueUrl !== undefined
      ? {
          kind: 'queue',
          url: queueUrl,
          queue: config.evalQueueName ?? nasConfig.nncf.lonas?.eval_queue_name ?? DEFAULT_EVAL_QUEUE,
          field: queueField,
        }
      : workers !== undefined && workers > 1
        ? { kind: 'threads', size: workers }
        : { kind: 'here' };
  const { training } = config;
  for (const [field, value] of [
    ['training.batchSize', training.batchSize],
    ['training.gradientAccumulationSteps', training.gradientAccumulationSteps],
    ['training.epochs', training.epochs ?? 1],
    ['evalBatchSize', config.evalBatchSize],
  ] as const) {
    if (!Number.isInteger(value) || value < 1)
      throw new ExperimentError(`${field} must be a positive integer, got ${value}`);
  }
  // LoNAS trains for 6 to 80 epochs; a count past this bound is a slip of the keyboard that would run for ever.
  if (training.epochs !== undefined && training.epochs > MAX_EPOCHS) {
    throw new ExperimentError(
      `training.epochs (--num_train_epochs) must be at most ${MAX_EPOCHS}, got ${training.epochs}`,
    );
  }
  if (!(training.weightDecay >= 0)) {
    throw new ExperimentError(`training.weightDecay must be a number >= 0, got ${training.weightDecay}`);
  }
  if (!fs.existsSync(config.model)) {
    throw new ExperimentError(`${config.model}: no such model folder or checkpoint file`);
  }
  if (config.loraWeights !== undefined && !fs.existsSync(path.join(config.loraWeights, 'adapter_config.json'))) {
    throw new ExperimentError(`${config.loraWeights}: no adapter_config.json (expected a PEFT adapter folder)`);
  }
  try {
    fs.mkdirSync(config.outputDir, { recursive: true });
    fs.accessSync(config.outputDir, fs.constants.W_OK);
  } catch (error) {
    throw new ExperimentError(`${config.outputDir}: cannot write the output folder (${(error as Error).message})`);
  }
  return { ...plan, evaluators, notDone };
}
