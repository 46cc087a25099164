import type { ExperimentPhases } from '../../machines/experiment';
import type { EvaluatorConfig } from '../../src/experiment/evaluator-config';
import type { Task } from '../../src/tasks/task';
import { taskConfig, type TaskConfig, type TaskSettings } from '../../src/tasks/task-config';
import { TRAINING_DEFAULTS, type TrainingSettings } from '../../src/train/training-settings';
import { withDefaults } from '../../src/util/with-defaults';
import type { GivenEvaluators } from '../evaluators/evaluator-pool';
import type { SamplerPlugin, StrategyPlugin } from '../plugins';

/** A search strategy: a name (lonas's own or a plug-in's), or a definition made with `defineStrategy`. */
// Plug-ins of every settings type are accepted; each decodes its own settings.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type StrategyChoice = string | StrategyPlugin<any>;

/** A sampler: a name (lonas's own or a plug-in's), or a definition made with `defineSampler`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type SamplerChoice = string | SamplerPlugin<any>;

/** The search's evaluators, from the script: a pool, or a function making one for the search's objective. */
export type EvaluatorsChoice = GivenEvaluators;

/** Everything one experiment (validate -> load -> train -> eval -> test -> search) runs with. */
export interface ExperimentConfig extends Omit<EvaluatorConfig, 'task' | 'seed'> {
  /** A task config (LoNAS's commonsense, math, GLUE, or plain text), or a task of the script's own. */
  task: TaskConfig | Task;
  outputDir: string;
  /** Replace a training run found in `outputDir` (its checkpoints and adapter) instead of refusing it. */
  overwriteOutputDir: boolean;
  phases: ExperimentPhases;
  training: TrainingSettings;
  /** The search strategy (default: the config's bootstrapNAS.search.algorithm, else NSGA2); its settings are that section's. */
  search?: StrategyChoice;
  /** The training sampler (default: the config's lonas.sampler.name, else uniform); its settings are that section's. */
  sampler?: SamplerChoice;
  /** Score the search's candidates here (instead of in this process, on threads or on a queue). */
  evaluators?: EvaluatorsChoice;
  /** Evaluator threads for the search, each with its own backend and model (default: the config's lonas.eval_workers, else 1: in this process). */
  evalWorkers?: number;
  /**
   * Evaluate the search's candidates on `lonas worker`s through this Redis (redis:// or rediss://;
   * default: the config's lonas.eval_queue, else none: evaluation stays on this machine).
   */
  evalQueue?: string;
  /** The queue's name (default: the config's lonas.eval_queue_name, else lonas-eval). */
  evalQueueName?: string;
  /** Modules that define search strategies or samplers (besides the config's lonas.plugins). */
  plugins?: string[];
}

/** An experiment as a script or a command line writes it: what it needs, and any setting to change. */
export type ExperimentSettings = Partial<
  Omit<ExperimentConfig, 'task' | 'training' | 'phases' | 'model' | 'nncfConfig' | 'outputDir'>
> &
  Pick<ExperimentConfig, 'model' | 'nncfConfig' | 'outputDir'> & {
    task: TaskSettings | Task;
    training?: Partial<TrainingSettings>;
    phases?: Partial<ExperimentPhases>;
  };

const isTaskSettings = (task: TaskSettings | Task): task is TaskSettings => 'kind' in task;

/**
 * An experiment with the official defaults filled in: the task's (`taskConfig`), TrainingArguments'
 * (`TRAINING_DEFAULTS`), an evaluation batch of 8, no LoRA settings beyond the config's and the
 * task's, and every phase the task has (plain text: training only).
 */
export function experimentConfig(settings: ExperimentSettings): ExperimentConfig {
  const task = isTaskSettings(settings.task) ? taskConfig(settings.task) : settings.task;
  const trainingOnly = isTaskSettings(settings.task) && settings.task.kind === 'text';
  return {
    ...withDefaults({ lora: {}, evalBatchSize: 8, overwriteOutputDir: false }, settings),
    task,
    training: withDefaults(TRAINING_DEFAULTS, settings.training ?? {}),
    phases: withDefaults(
      { train: true, eval: false, test: !trainingOnly, search: !trainingOnly },
      settings.phases ?? {},
    ),
  };
}

/** What the experiment's evaluator threads and queue workers open: plain data, the task as a config. */
export function evaluatorConfigOf(config: ExperimentConfig, task: TaskConfig): EvaluatorConfig {
  return {
    task,
    model: config.model,
    ...(config.tokenizer === undefined ? {} : { tokenizer: config.tokenizer }),
    nncfConfig: config.nncfConfig,
    ...(config.loraWeights === undefined ? {} : { loraWeights: config.loraWeights }),
    lora: config.lora,
    seed: config.training.seed,
    evalBatchSize: config.evalBatchSize,
    ...(config.backend === undefined ? {} : { backend: config.backend }),
  };
}
