import type { ExperimentConfig, TaskConfig } from '../../src/experiment/experiment-config';
import type { LoraPlan } from '../../src/nas/elastic-plan';
import { commonsenseTask, mathTask } from '../../src/tasks/tasks';
import { parseFlags, UsageError } from './command';
import { liveFlagOptions, liveFlagsUsage } from './live-flags';
import { loraFlagOptions, loraFlags, loraFlagsUsage } from './lora-flags';

export type Family = 'commonsense' | 'math' | 'glue';

/** What a `lonas commonsense|math|glue` command line asks for: the experiment, and how to show it. */
export interface TaskCommandSettings {
  experiment: ExperimentConfig;
  /** Print every event as a JSON line. */
  events: boolean;
  live?: string;
  liveToken?: string;
  /** Flags of the original scripts that were given and that lonas does not use, with why. */
  ignored: Array<{ flag: string; why: string }>;
}

/** Flags of the original scripts that lonas accepts and does not use, and why. */
const IGNORED: Record<string, string> = {
  learning_rate: 'the stage schedule (init_lr) sets the learning rate',
  warmup_steps: 'the stage schedule has no warm-up',
  warmup_ratio: 'the stage schedule has no warm-up',
  lr_scheduler_type: 'the stage schedule sets the learning rate',
  fp16: 'lonas trains in float32',
  bf16: 'lonas trains in float32',
  eval_steps: 'evaluation runs per epoch or at the end',
  overwrite_output_dir: 'outputs are overwritten atomically',
  report_to: 'events go to --events and the live stream',
  group_by_length: 'batches follow a seeded order',
  logging_steps: 'every step is an event (--events)',
  lora: 'lonas always trains LoRA adapters',
};

/** Ignored by the LLM tasks only: there the test sets and the search's validation set evaluate. */
const IGNORED_BY_LLM_TASKS: Record<string, string> = {
  do_eval: 'LLM tasks are evaluated by --do_test and the search',
  evaluation_strategy: 'LLM tasks are evaluated by --do_test and the search',
};

const BOOLEAN_FLAGS = new Set(['fp16', 'bf16', 'overwrite_output_dir', 'group_by_length', 'lora']);

const options = {
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
  events: { type: 'boolean' },
  backend: { type: 'string' },
  eval_workers: { type: 'string' },
  plugin: { type: 'string', multiple: true },
  ...liveFlagOptions,
  ...loraFlagOptions,
  ...Object.fromEntries(
    Object.keys(IGNORED).map((flag) => [flag, { type: BOOLEAN_FLAGS.has(flag) ? 'boolean' : 'string' }]),
  ),
} as const;

/** The official scripts' LoRA arguments' defaults (run_commonsense.py and run_math.py share theirs). */
const SCRIPT_LORA: Record<Family, LoraPlan> = {
  commonsense: { targetModules: ['q_proj', 'v_proj'], rank: 32, alpha: 64, dropout: 0, modulesToSave: [] },
  math: { targetModules: ['q_proj', 'v_proj'], rank: 32, alpha: 64, dropout: 0, modulesToSave: [] },
  // PEFT's SEQ_CLS task type trains and saves the classifier in full.
  glue: { targetModules: ['query', 'key', 'value'], rank: 8, alpha: 16, dropout: 0.1, modulesToSave: ['classifier'] },
};

function integer(value: string | undefined, flag: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min) {
    throw new UsageError(`${flag} must be an integer >= ${min}, got '${value}'`);
  }
  return n;
}

function optional(value: string | undefined, flag: string, min = 0): number | undefined {
  return value === undefined ? undefined : integer(value, flag, 0, min);
}

function choice<T extends string>(value: string | undefined, flag: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`${flag} must be ${allowed.join(' or ')}, got '${value}'`);
  }
  return value as T;
}

/**
 * Maps a command line to the experiment it asks for; a missing, unknown or malformed flag is a
 * UsageError. Every default is the official script's argparse default (HfArgumentParser over
 * transformers 4.31's TrainingArguments and LoNAS's own arguments) unless docs/differences.md
 * says otherwise.
 */
export function taskSettings(family: Family, args: string[]): TaskCommandSettings {
  const values = parseFlags(args, options);
  const given = (flag: string) => (values as Record<string, unknown>)[flag] !== undefined;
  const ignoredHere = family === 'glue' ? IGNORED : { ...IGNORED, ...IGNORED_BY_LLM_TASKS };
  const ignored = Object.keys(ignoredHere)
    .filter(given)
    .map((flag) => ({ flag, why: ignoredHere[flag] }));
  const { model_name_or_path: model, nncf_config: nncfConfig, output_dir: outputDir } = values;
  if (model === undefined || nncfConfig === undefined || outputDir === undefined) {
    throw new UsageError('--model_name_or_path, --nncf_config and --output_dir are required');
  }
  const phases = {
    train: values.do_train ?? false,
    eval: family === 'glue' && values.do_eval === true,
    test: values.do_test ?? false,
    search: values.do_search ?? false,
  };
  if (!phases.train && !phases.eval && !phases.test && !phases.search) {
    throw new UsageError(
      `nothing to do: give --do_train${family === 'glue' ? ', --do_eval' : ''}, --do_test and/or --do_search`,
    );
  }
  const maxTrainSamples = optional(values.max_train_samples, '--max_train_samples');
  const maxTestSamples = optional(values.max_test_samples, '--max_test_samples');
  let task: TaskConfig;
  if (family === 'glue') {
    const taskName = values.task_name?.toLowerCase().replace('-', '');
    if (taskName === undefined || values.dataset_path === undefined) {
      throw new UsageError('glue needs --task_name and --dataset_path (the folder with train.tsv and dev.tsv)');
    }
    task = {
      kind: 'glue',
      taskName,
      datasetPath: values.dataset_path,
      maxSeqLength: integer(values.max_seq_length, '--max_seq_length', 128, 2),
      maxTrainSamples,
      maxTestSamples,
    };
  } else {
    task = {
      kind: family,
      datasetPath: values.dataset_path,
      valSetSize: integer(values.val_set_size, '--val_set_size', family === 'commonsense' ? 120 : 0),
      // The official scripts read their test sets from datasets/<name>/test.json.
      datasetsDir: values.datasets_dir ?? 'datasets',
      testDatasets: values.test_datasets
        ?.split(',')
        .map((d) => d.trim())
        .filter((d) => d !== ''),
      maxTrainSamples,
      maxTestSamples,
      cutoffLen: integer(values.cutoff_len, '--cutoff_len', 256, 2),
      trainOnInputs: values.train_on_inputs ?? true,
      numBeams: integer(values.num_beams, '--num_beams', 4, 1),
      maxNewTokens: integer(
        values.max_new_tokens,
        '--max_new_tokens',
        (family === 'math' ? mathTask : commonsenseTask).maxNewTokens,
        1,
      ),
    };
  }
  return {
    experiment: {
      task,
      model,
      tokenizer: values.tokenizer,
      nncfConfig,
      outputDir,
      phases,
      loraWeights: values.lora_weights,
      lora: loraFlags(values),
      loraDefaults: SCRIPT_LORA[family],
      training: {
        batchSize: integer(values.per_device_train_batch_size, '--per_device_train_batch_size', 8, 1),
        gradientAccumulationSteps: integer(values.gradient_accumulation_steps, '--gradient_accumulation_steps', 1, 1),
        epochs: integer(values.num_train_epochs, '--num_train_epochs', 3, 1),
        seed: integer(values.seed, '--seed', 42),
        weightDecay: nonNegative(values.weight_decay, '--weight_decay'),
        optim: choice(values.optim, '--optim', ['adamw_hf', 'adamw_torch'], 'adamw_hf'),
        saveStrategy: choice(values.save_strategy, '--save_strategy', ['epoch', 'no'], 'epoch'),
        saveTotalLimit: optional(values.save_total_limit, '--save_total_limit', 1),
        resume: values.resume ?? false,
        evaluationStrategy:
          family === 'glue' ? choice(values.evaluation_strategy, '--evaluation_strategy', ['no', 'epoch'], 'no') : 'no',
      },
      evalBatchSize: integer(values.per_device_eval_batch_size, '--per_device_eval_batch_size', 8, 1),
      evalWorkers: optional(values.eval_workers, '--eval_workers', 1),
      backend: values.backend,
      plugins: values.plugin,
    },
    events: values.events ?? false,
    live: values.live,
    liveToken: values['live-token'],
    ignored,
  };
}

function nonNegative(value: string | undefined, flag: string): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new UsageError(`${flag} must be a number >= 0, got '${value}'`);
  }
  return n;
}

export function taskUsage(family: Family): string {
  const data =
    family === 'glue'
      ? `  --task_name T                       rte, mrpc, stsb, cola, sst2, qnli, qqp or mnli
  --dataset_path DIR                  the task's GLUE folder (train.tsv, dev.tsv; MNLI: dev_matched.tsv
                                      and dev_mismatched.tsv)
  --max_seq_length N                  tokens per example (default 128)
  --do_eval                           evaluate the super-network and the minimum subnet on the dev set
  --evaluation_strategy no|epoch      with --do_eval, also after every epoch (default no)
  --max_test_samples N                the first N dev examples`
      : `  --dataset_path FILE                 LLM-Adapters training JSON (instruction, input, output, answer)
  --val_set_size N                    records held out (seed 42) for the search (default ${family === 'commonsense' ? 120 : 0})
  --datasets_dir DIR                  test sets as <dir>/<name>/test.json (default datasets/)
  --test_datasets A,B                 which of them (default: all of ${(family === 'math' ? mathTask : commonsenseTask).datasets.join(', ')} present)
  --max_test_samples N                the first N of each test set
  --cutoff_len N                      training tokens per example (default 256)
  --train_on_inputs [true|false]      learn the prompt too (default true)
  --num_beams N / --max_new_tokens N  generation (default 4 and ${family === 'math' ? 256 : 32})`;
  const lora = SCRIPT_LORA[family];
  return `usage: lonas ${family} --model_name_or_path PATH --nncf_config FILE --output_dir DIR [--do_train]${family === 'glue' ? ' [--do_eval]' : ''} [--do_test] [--do_search] [options]

${family === 'glue' ? 'GLUE with BERT' : family === 'math' ? 'Math reasoning' : 'Commonsense reasoning'}, as LoNAS's run_${family}.py: train a super-adapter, test the heuristic subnet, search the Pareto front.
Boolean flags stand alone or take true/false (--do_train, --do_train True, --no_do_train).

  --model_name_or_path PATH           base model (Hugging Face folder or llama2.c .bin)
  --tokenizer PATH                    for checkpoints without one (llama2.c)
  --nncf_config FILE                  search space, stage schedule, search settings
  --output_dir DIR                    adapter, checkpoints, results, search outputs
  --lora_weights DIR                  a trained super-adapter to test or search without training (its
                                      adapter_config.json sets r, alpha, dropout and the targets)
${data}
  --max_train_samples N               use the first N training examples
  --per_device_train_batch_size N     (default 8)      --gradient_accumulation_steps N (default 1)
  --per_device_eval_batch_size N      examples evaluated together (default 8)
  --eval_workers N                    search with N evaluator workers, each with its own model
                                      (default: the config's lonas.eval_workers, else 1)
  --num_train_epochs N                (default 3)      --seed N (default 42)
  --weight_decay W                    AdamW's decoupled weight decay, not on biases (default 0)
  --optim adamw_hf|adamw_torch        transformers' or torch's AdamW (default adamw_hf)
  --save_strategy epoch|no  --save_total_limit N  --resume  --events  --backend NAME
  --plugin FILE                       a module defining search strategies or samplers (repeatable;
                                      also the config's lonas.plugins)
${liveFlagsUsage}
${loraFlagsUsage}
  (LoRA defaults: --target_modules ${lora.targetModules.join(',')} --lora_r ${lora.rank} --lora_alpha ${lora.alpha} --lora_dropout ${lora.dropout},
   under the config's lonas section)

Accepted and ignored (named on stderr): ${[
    ...Object.keys(IGNORED),
    ...(family === 'glue' ? [] : Object.keys(IGNORED_BY_LLM_TASKS)),
  ]
    .map((f) => `--${f}`)
    .join(', ')}.`;
}
