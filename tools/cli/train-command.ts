import { parseFlags, UsageError, type Command } from './command';
import { experimentConfig } from '../../actors/experiment/experiment-config';
import { choice, nonNegative, optionalInteger } from './flag-values';
import { liveFlagOptions, liveFlagsUsage } from './live-flags';
import { loraFlagOptions, loraFlags, loraFlagsUsage } from './lora-flags';
import { runExperimentCommand } from './run-experiment-command';
const usage = `usage: lonas train --model_name_or_path PATH --nncf_config FILE --train_file FILE --output_dir DIR [options]

Trains a LoNAS super-adapter on a plain text file (JSON array or JSON lines of strings or
{"text", "text_pair", "label"} records), writing PEFT files and checkpoints to --output_dir.

  --model_name_or_path PATH          base model: Hugging Face folder or llama2.c .bin
  --tokenizer PATH                   tokenizer (default: the model folder's, or tokenizer.bin beside a .bin)
  --nncf_config FILE                 search space, stage schedule, sampler (lonas.sampler)
  --train_file FILE                  the training records
  --output_dir DIR                   adapter, checkpoints
  --per_device_train_batch_size N    micro-batch size (default 8)
  --gradient_accumulation_steps N    micro-batches per optimizer step (default 1)
  --num_train_epochs N               default: the schedule's total epochs
  --max_seq_length N                 truncate examples to N tokens (default 256)
  --weight_decay W                   AdamW weight decay, not on biases (default 0)
  --optim adamw_torch|adamw_hf       torch's or transformers' AdamW (default adamw_hf)
  --seed N                           data order, adapter init, sampling, dropout (default 42)
  --save_strategy epoch|no           checkpoint every epoch (default epoch)
  --save_total_limit N               keep the newest N checkpoints
  --resume                           continue from the newest checkpoint in --output_dir
  --overwrite_output_dir             replace a training run found in --output_dir (else it is refused)
  --events                           print every event as a JSON line on stdout
  --backend NAME                     tensorflow, webgpu, wasm, cpu or auto
  --plugin FILE                      a module defining samplers (repeatable; also lonas.plugins)
${liveFlagsUsage}
${loraFlagsUsage}

SIGINT or SIGTERM checkpoints after the current micro-step and stops; --resume continues.`;

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a super-adapter on a text file (checkpoints, resume)',
  usage,
  async run(args) {
    const values = parseFlags(args, {
      model_name_or_path: { type: 'string' },
      tokenizer: { type: 'string' },
      nncf_config: { type: 'string' },
      train_file: { type: 'string' },
      output_dir: { type: 'string' },
      per_device_train_batch_size: { type: 'string' },
      gradient_accumulation_steps: { type: 'string' },
      num_train_epochs: { type: 'string' },
      max_seq_length: { type: 'string' },
      weight_decay: { type: 'string' },
      optim: { type: 'string' },
      seed: { type: 'string' },
      save_strategy: { type: 'string' },
      save_total_limit: { type: 'string' },
      resume: { type: 'boolean', default: false },
      overwrite_output_dir: { type: 'boolean', default: false },
      events: { type: 'boolean', default: false },
      backend: { type: 'string' },
      plugin: { type: 'string', multiple: true },
      ...liveFlagOptions,
      ...loraFlagOptions,
    });
    const { model_name_or_path: model, nncf_config: nncf, train_file: trainFile, output_dir: outputDir } = values;
    if (model === undefined || nncf === undefined || trainFile === undefined || outputDir === undefined) {
      throw new UsageError('--model_name_or_path, --nncf_config, --train_file and --output_dir are required');
    }
    // Absent flags are left out: the library's defaults stand.
    return runExperimentCommand(
      'train',
      experimentConfig({
        task: { kind: 'text', trainFile, maxSeqLength: optionalInteger(values.max_seq_length, '--max_seq_length', 2) },
        model,
        tokenizer: values.tokenizer,
        nncfConfig: nncf,
        outputDir,
        overwriteOutputDir: values.overwrite_output_dir,
        phases: { train: true, eval: false, test: false, search: false },
        lora: loraFlags(values),
        training: {
          batchSize: optionalInteger(values.per_device_train_batch_size, '--per_device_train_batch_size', 1),
          gradientAccumulationSteps: optionalInteger(
            values.gradient_accumulation_steps,
            '--gradient_accumulation_steps',
            1,
          ),
          epochs: optionalInteger(values.num_train_epochs, '--num_train_epochs', 1),
          seed: optionalInteger(values.seed, '--seed'),
          weightDecay: nonNegative(values.weight_decay, '--weight_decay'),
          optim: choice(values.optim, '--optim', ['adamw_torch', 'adamw_hf']),
          saveStrategy: choice(values.save_strategy, '--save_strategy', ['epoch', 'no']),
          saveTotalLimit: optionalInteger(values.save_total_limit, '--save_total_limit', 1),
          resume: values.resume,
        },
        backend: values.backend,
        plugins: values.plugin,
      }),
      {
        events: values.events,
        live: { live: values.live, 'live-token': values['live-token'], 'live-token-file': values['live-token-file'] },
        runInfo: { command: 'train', model, nncf_config: nncf, train_file: trainFile, output_dir: outputDir },
      },
    );
  },
};
