import type { LoraPlan } from '../nas/elastic-plan';
import type { AdamWVariant } from '../train/adamw';
import type { TaskConfig } from '../tasks/task-config';

/** Everything one experiment (load -> train -> eval -> test -> search) runs with. */
export interface ExperimentConfig {
  task: TaskConfig;
  /** Hugging Face folder or llama2.c .bin. */
  model: string;
  /** For checkpoints without one (llama2.c). */
  tokenizer?: string;
  /** The NNCF config: search space, stage schedule, search settings, `lonas` section. */
  nncfConfig: string;
  outputDir: string;
  /** Replace a training run found in `outputDir` (its checkpoints and adapter) instead of refusing it. */
  overwriteOutputDir?: boolean;
  phases: { train: boolean; eval: boolean; test: boolean; search: boolean };
  /** A trained super-adapter to start from (its adapter_config.json sets the LoRA settings). */
  loraWeights?: string;
  /** Flags over the config's `lonas` section over `loraDefaults`. */
  lora: Partial<LoraPlan>;
  loraDefaults?: LoraPlan;
  training: {
    batchSize: number;
    gradientAccumulationSteps: number;
    /** Default: the stage schedule's total. */
    epochs?: number;
    seed: number;
    weightDecay: number;
    optim: AdamWVariant;
    saveStrategy: 'epoch' | 'no';
    saveTotalLimit?: number;
    resume: boolean;
    /** GLUE with the eval phase: also evaluate after every epoch. */
    evaluationStrategy: 'no' | 'epoch';
  };
  evalBatchSize: number;
  /** Evaluator workers for the search, each with its own backend and model (default: the config's lonas.eval_workers, else 1: in this process). */
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
  /** Tensor backend (default: automatic). */
  backend?: string;
}
