import { parseFlags, UsageError, type Command } from './command';
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
  --per_device_train_batch_size N    micro-batch size (default 4)
  --gradient_accumulation_steps N    micro-batches per optimizer step (default 1)
  --num_train_epochs N               default: the schedule's total epochs
  --max_seq_length N                 truncate examples to N tokens (default 256)
  --weight_decay W                   AdamW weight decay, not on biases (default 0)
  --optim adamw_torch|adamw_hf       torch's or transformers' AdamW (default adamw_torch)
  --seed N                           data order, adapter init, sampling, dropout (default 0)
  --save_strategy epoch|no           checkpoint every epoch (default epoch)
  --save_total_limit N               keep the newest N checkpoints
  --resume                           continue from the newest checkpoint in --output_dir
  --events                           print every event as a JSON line on stdout
  --backend NAME                     tensorflow, wasm, cpu or auto
  --plugin FILE                      a module defining samplers (repeatable; also lonas.plugins)
${liveFlagsUsage}
${loraFlagsUsage}

SIGINT or SIGTERM checkpoints after the current micro-step and stops; --resume continues.`;

function integer(value: string | undefined, flag: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be an integer >= ${min}, got '${value}'`);
  return n;
}

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
      save_strategy: { type: 'string', default: 'epoch' },
      save_total_limit: { type: 'string' },
      resume: { type: 'boolean', default: false },
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
    if (values.save_strategy !== 'epoch' && values.save_strategy !== 'no') {
      throw new UsageError(`--save_strategy must be epoch or no, got '${values.save_strategy}'`);
    }
    if (values.optim !== undefined && values.optim !== 'adamw_torch' && values.optim !== 'adamw_hf') {
      throw new UsageError(`--optim must be adamw_torch or adamw_hf, got '${values.optim}'`);
    }
    const weightDecay = values.weight_decay === undefined ? 0 : Number(values.weight_decay);
    if (!(weightDecay >= 0)) throw new UsageError(`--weight_decay must be a number >= 0, got '${values.weight_decay}'`);
    return runExperimentCommand(
      'train',
      {
        task: { kind: 'text', trainFile, maxSeqLength: integer(values.max_seq_length, '--max_seq_length', 256, 2) },
        model,
        tokenizer: values.tokenizer,
        nncfConfig: nncf,
        outputDir,
        phases: { train: true, eval: false, test: false, search: false },
        lora: loraFlags(values),
        training: {
          batchSize: integer(values.per_device_train_batch_size, '--per_device_train_batch_size', 4),
          gradientAccumulationSteps: integer(values.gradient_accumulation_steps, '--gradient_accumulation_steps', 1),
          epochs:
            values.num_train_epochs === undefined
              ? undefined
              : integer(values.num_train_epochs, '--num_train_epochs', 1),
          seed: integer(values.seed, '--seed', 0, 0),
          weightDecay,
          optim: values.optim ?? 'adamw_torch',
          saveStrategy: values.save_strategy,
          saveTotalLimit:
            values.save_total_limit === undefined
              ? undefined
              : integer(values.save_total_limit, '--save_total_limit', 1),
          resume: values.resume,
          evaluationStrategy: 'no',
        },
        evalBatchSize: 8,
        backend: values.backend,
        plugins: values.plugin,
      },
      {
        events: values.events,
        live: values.live,
        liveToken: values['live-token'],
        runInfo: { command: 'train', model, nncf_config: nncf, train_file: trainFile, output_dir: outputDir },
      },
    );
  },
};
