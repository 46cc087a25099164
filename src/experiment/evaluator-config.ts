import type { LoraPlan } from '../nas/elastic-plan';
import type { NncfConfigSource } from '../nas/nas-config';
import type { TaskConfig } from '../tasks/task-config';

/**
 * What opening a model to evaluate subnets needs: the experiment's load phase, its evaluator
 * threads and queue workers alike. Plain data, so that it crosses to a thread or a machine.
 */
export interface EvaluatorConfig {
  task: TaskConfig;
  /** Hugging Face folder or llama2.c .bin. */
  model: string;
  /** For checkpoints without one (llama2.c). */
  tokenizer?: string;
  /** The NNCF config: a file, or its JSON as an object. */
  nncfConfig: NncfConfigSource;
  /** A trained super-adapter to start from (its adapter_config.json sets the LoRA settings). */
  loraWeights?: string;
  /** LoRA settings over the config's `lonas` section over the task's own. */
  lora: Partial<LoraPlan>;
  /** Seeds a new adapter's initial weights. */
  seed: number;
  evalBatchSize: number;
  /** Tensor backend (default: automatic). */
  backend?: string;
}
