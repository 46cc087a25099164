import { experimentConfig, type ExperimentConfig } from '../../actors/experiment/experiment-config';
import type { TaskSettings } from '../../src/tasks/task-config';
import { parseFlags, UsageError } from './command';
import { choice, integer, nonNegative, optionalInteger } from './flag-values';
import type { LiveFlagValues } from './live-flags';
import { loraFlags } from './lora-flags';
import { IGNORED, IGNORED_BY_LLM_TASKS, taskFlagOptions, type Family } from './task-flags';

/** What a `lonas commonsense|math|glue` command line asks for: the experiment, and how to show it. */
export interface TaskCommandSettings {
  experiment: ExperimentConfig;
  /** Print every event as a JSON line. */
  events: boolean;
  live: LiveFlagValues;
  /** Flags of the original scripts that were given and that lonas does not use, with why. */
  ignored: Array<{ flag: string; why: string }>;
}

/**
 * Maps a command line to the experiment it asks for; a missing, unknown or malformed flag is a
 * UsageError. Every default is the official script's argparse default (HfArgumentParser over
 * transformers 4.31's TrainingArguments and LoNAS's own arguments) unless docs/differences.md
 * says otherwise.
 */
export function taskSettings(family: Family, args: string[]): TaskCommandSettings {
  const values = parseFlags(args, taskFlagOptions);
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
    // transformers 4.31 turns do_eval on when an evaluation_strategy is set.
    eval: family === 'glue' && (values.do_eval === true || (values.evaluation_strategy ?? 'no') !== 'no'),
    test: values.do_test ?? false,
    search: values.do_search ?? false,
  };
  if (!phases.train && !phases.eval && !phases.test && !phases.search) {
    throw new UsageError(
      `nothing to do: give --do_train${family === 'glue' ? ', --do_eval' : ''}, --do_test and/or --do_search`,
    );
  }
  const maxTrainSamples = optionalInteger(values.max_train_samples, '--max_train_samples');
  const maxTestSamples = optionalInteger(values.max_test_samples, '--max_test_samples');
  let task: TaskSettings;
  if (family === 'glue') {
    const taskName = values.task_name?.toLowerCase().replace('-', '');
    if (taskName === undefined || values.dataset_path === undefined) {
      throw new UsageError('glue needs --task_name and --dataset_path (the folder with train.tsv and dev.tsv)');
    }
    task = {
      kind: 'glue',
      taskName,
      datasetPath: values.dataset_path,
      maxSeqLength: optionalInteger(values.max_seq_length, '--max_seq_length', 2),
      maxTrainSamples,
      maxTestSamples,
    };
  } else {
    task = {
      kind: family,
      datasetPath: values.dataset_path,
      valSetSize: optionalInteger(values.val_set_size, '--val_set_size'),
      datasetsDir: values.datasets_dir,
      testDatasets: values.test_datasets
        ?.split(',')
        .map((d) => d.trim())
        .filter((d) => d !== ''),
      maxTrainSamples,
      maxTestSamples,
      cutoffLen: optionalInteger(values.cutoff_len, '--cutoff_len', 2),
      trainOnInputs: values.train_on_inputs,
      numBeams: optionalInteger(values.num_beams, '--num_beams', 1),
      maxNewTokens: optionalInteger(values.max_new_tokens, '--max_new_tokens', 1),
    };
  }
  // Absent flags are left out: the library's defaults are the official scripts'.
  return {
    experiment: experimentConfig({
      task,
      model,
      tokenizer: values.tokenizer,
      nncfConfig,
      outputDir,
      overwriteOutputDir: values.overwrite_output_dir,
      phases,
      loraWeights: values.lora_weights,
      lora: loraFlags(values),
      training: {
        batchSize: optionalInteger(values.per_device_train_batch_size, '--per_device_train_batch_size', 1),
        gradientAccumulationSteps: optionalInteger(
          values.gradient_accumulation_steps,
          '--gradient_accumulation_steps',
          1,
        ),
        // The scripts' TrainingArguments default; the library's is the stage schedule's total.
        epochs: integer(values.num_train_epochs, '--num_train_epochs', 3, 1),
        seed: optionalInteger(values.seed, '--seed'),
        weightDecay: nonNegative(values.weight_decay, '--weight_decay'),
        optim: choice(values.optim, '--optim', ['adamw_hf', 'adamw_torch']),
        saveStrategy: choice(values.save_strategy, '--save_strategy', ['epoch', 'no']),
        saveTotalLimit: optionalInteger(values.save_total_limit, '--save_total_limit', 1),
        resume: values.resume,
        evaluationStrategy:
          family === 'glue' ? choice(values.evaluation_strategy, '--evaluation_strategy', ['no', 'epoch']) : 'no',
      },
      evalBatchSize: optionalInteger(values.per_device_eval_batch_size, '--per_device_eval_batch_size', 1),
      evalWorkers: optionalInteger(values.eval_workers, '--eval_workers', 1),
      evalQueue: values.eval_queue,
      evalQueueName: values.eval_queue_name,
      backend: values.backend,
      plugins: values.plugin,
    }),
    events: values.events ?? false,
    live: { live: values.live, 'live-token': values['live-token'], 'live-token-file': values['live-token-file'] },
    ignored,
  };
}
