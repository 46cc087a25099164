import * as path from 'path';
import { Subject } from 'rxjs';
import { samplerNamed } from '../../actors/samplers/registry';
import { train } from '../../actors/trainer';
import { selectBackend } from '../../src/backend';
import { readTextFile } from '../../src/data/text-file';
import type { LonasEvent } from '../../src/events';
import { openCheckpoint } from '../../src/models/checkpoint';
import { globalScheduleOf } from '../../src/nas/nncf-config';
import { readNasConfig } from '../../src/nas/nas-config';
import { openSuperNetwork } from '../../src/nas/open-super-network';
import { collate, type Example } from '../../src/train/batches';
import { stagesFrom } from '../../src/train/schedule';
import { taskLoss } from '../../src/train/task-loss';
import { loadTokenizer } from '../../src/tokenizers/load-tokenizer';
import { showTrainingProgress } from '../../src/util/progress-bar';
import { parseFlags, UsageError, type Command } from './command';
import { liveFlagOptions, liveFlagsUsage, startLive } from './live-flags';
import { loraFlagOptions, loraFlags, loraFlagsUsage } from './lora-flags';
import { recordEvents } from '../../src/live/event-log';

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
  --weight_decay W                   AdamW weight decay (default 0)
  --seed N                           data order, adapter init, sampling, dropout (default 0)
  --save_strategy epoch|no           checkpoint every epoch (default epoch)
  --save_total_limit N               keep the newest N checkpoints
  --resume                           continue from the newest checkpoint in --output_dir
  --events                           print every event as a JSON line on stdout
  --backend NAME                     tensorflow, wasm, cpu or auto
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
      seed: { type: 'string' },
      save_strategy: { type: 'string', default: 'epoch' },
      save_total_limit: { type: 'string' },
      resume: { type: 'boolean', default: false },
      events: { type: 'boolean', default: false },
      backend: { type: 'string' },
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
    const nasConfig = readNasConfig(nncf);
    // Everything that can be refused is checked before the model loads.
    const stages = stagesFrom(nasConfig.nncf.bootstrapNAS.training?.schedule?.list_stage_descriptions, nncf);
    const records = readTextFile(trainFile);
    const batchSize = integer(values.per_device_train_batch_size, '--per_device_train_batch_size', 4);
    const accumulation = integer(values.gradient_accumulation_steps, '--gradient_accumulation_steps', 1);
    const epochs = integer(
      values.num_train_epochs,
      '--num_train_epochs',
      stages.reduce((sum, s) => sum + s.epochs, 0),
    );
    const maxLength = integer(values.max_seq_length, '--max_seq_length', 256, 2);
    const seed = integer(values.seed, '--seed', 0, 0);
    const weightDecay = values.weight_decay === undefined ? 0 : Number(values.weight_decay);

    await selectBackend({ requested: values.backend });
    const checkpoint = openCheckpoint(model);
    const { loaded, network } = openSuperNetwork(checkpoint, nasConfig, { lora: loraFlags(values), seed });
    const tokenizer = loadTokenizer(
      values.tokenizer ?? checkpoint.folder ?? path.join(path.dirname(model), 'tokenizer.bin'),
      {
        vocabSize: loaded.model.config.vocabSize,
      },
    );
    const examples: Example[] = records.map((r) => {
      const { ids, typeIds } = tokenizer.addSpecialTokens(
        tokenizer.tokenize(r.text),
        r.textPair === undefined ? undefined : tokenizer.tokenize(r.textPair),
      );
      return { inputIds: ids.slice(0, maxLength), tokenTypeIds: typeIds.slice(0, maxLength), label: r.label };
    });
    const samplerConfig = nasConfig.nncf.lonas?.sampler ?? {};
    const sampler = samplerNamed(samplerConfig.name ?? 'uniform')(network.plan.space, {
      seed,
      randomSubnets: samplerConfig.random_subnets,
      subnet: samplerConfig.subnet,
    });
    const events = new Subject<LonasEvent>();
    if (values.events) events.subscribe((event) => process.stdout.write(`${JSON.stringify(event)}\n`));
    recordEvents(events, outputDir);
    const live = await startLive(events, values, {
      command: 'train',
      model,
      nncf_config: nncf,
      train_file: trainFile,
      output_dir: outputDir,
    });
    const stepsPerEpoch = Math.ceil(examples.length / batchSize);
    showTrainingProgress(events, epochs * stepsPerEpoch);
    const stop = { requested: false };
    const onSignal = () => (stop.requested = true);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const result = await train({
        network,
        loss: taskLoss(loaded),
        examples,
        collate: (batch) =>
          collate(batch, { padTokenId: tokenizer.padTokenId ?? 0, paddingSide: 'left', padToMultipleOf: 8 }),
        stages,
        globalSchedule: globalScheduleOf(nasConfig.nncf, nncf),
        sampler,
        batchSize,
        gradientAccumulationSteps: accumulation,
        epochs,
        seed,
        weightDecay,
        outputDir,
        saveStrategy: values.save_strategy,
        saveTotalLimit:
          values.save_total_limit === undefined ? undefined : integer(values.save_total_limit, '--save_total_limit', 1),
        resume: values.resume,
        adapter: { baseModel: model, taskType: loaded.kind === 'causal-lm' ? 'CAUSAL_LM' : 'SEQ_CLS' },
        stop,
        events,
      });
      return result.interrupted ? 130 : 0;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      events.complete();
      await live?.close();
    }
  },
};
