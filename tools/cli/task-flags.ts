import { liveFlagOptions } from './live-flags';
import { loraFlagOptions } from './lora-flags';

export type Family = 'commonsense' | 'math' | 'glue';

/** Flags of the original scripts that lonas accepts and does not use, and why. */
export const IGNORED: Record<string, string> = {
  learning_rate: 'the stage schedule (init_lr) sets the learning rate',
  warmup_steps: 'the stage schedule has no warm-up',
  warmup_ratio: 'the stage schedule has no warm-up',
  lr_scheduler_type: 'the stage schedule sets the learning rate',
  fp16: 'lonas trains in float32',
  bf16: 'lonas trains in float32',
  eval_steps: 'evaluation runs per epoch or at the end',
  report_to: 'events go to --events and the live stream',
  group_by_length: 'batches follow a seeded order',
  logging_steps: 'every step is an event (--events)',
  lora: 'lonas always trains LoRA adapters',
};

/** Ignored by the LLM tasks only: there the test sets and the search's validation set evaluate. */
export const IGNORED_BY_LLM_TASKS: Record<string, string> = {
  do_eval: 'LLM tasks are evaluated by --do_test and the search',
  evaluation_strategy: 'LLM tasks are evaluated by --do_test and the search',
  max_seq_length: '--cutoff_len sets the training length of LLM tasks',
  task_name: 'a GLUE flag',
};

const BOOLEAN_FLAGS = new Set(['fp16', 'bf16', 'group_by_length', 'lora']);

/** Every flag of `lonas commonsense|math|glue`: LoNAS's scripts' and lonas's own. */
export const taskFlagOptions = {
  model_name_or_path: { type: 'string' },
  tokenizer: { type: 'string' },
  nncf_config: { type: 'string' },
  output_dir: { type: 'string' },
  dataset_path: { type: 'string' },
  datasets_dir: { type: 'string' },
  test_datasets: { type: 'string' },
  max_test_samples: { type: 'string' },
  max_train_samples: { type: 'string' },
  val_set_size: { type: 'string' },
  task_name: { type: 'string' },
  max_seq_length: { type: 'string' },
  cutoff_len: { type: 'string' },
  train_on_inputs: { type: 'boolean' },
  do_train: { type: 'boolean' },
  do_eval: { type: 'boolean' },
  do_test: { type: 'boolean' },
  do_search: { type: 'boolean' },
  evaluation_strategy: { type: 'string' },
  lora_weights: { type: 'string' },
  per_device_train_batch_size: { type: 'string' },
  per_device_eval_batch_size: { type: 'string' },
  gradient_accumulation_steps: { type: 'string' },
  num_train_epochs: { type: 'string' },
  weight_decay: { type: 'string' },
  optim: { type: 'string' },
  save_strategy: { type: 'string' },
  save_total_limit: { type: 'string' },
  seed: { type: 'string' },
  num_beams: { type: 'string' },
  max_new_tokens: { type: 'string' },
  resume: { type: 'boolean' },
  overwrite_output_dir: { type: 'boolean' },
  events: { type: 'boolean' },
  backend: { type: 'string' },
  eval_workers: { type: 'string' },
  eval_queue: { type: 'string' },
  eval_queue_name: { type: 'string' },
  plugin: { type: 'string', multiple: true },
  ...liveFlagOptions,
  ...loraFlagOptions,
  ...Object.fromEntries(
    Object.keys(IGNORED).map((flag) => [flag, { type: BOOLEAN_FLAGS.has(flag) ? 'boolean' : 'string' }]),
  ),
} as const;
