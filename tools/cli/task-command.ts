import * as fs from 'fs';
import * as path from 'path';
import { from, Subject } from 'rxjs';
import { createActor, toPromise } from 'xstate';
import { evaluate } from '../../actors/evaluator';
import { samplerNamed } from '../../actors/samplers/registry';
import { search } from '../../actors/search';
import { strategyNamed } from '../../actors/strategies/registry';
import { train } from '../../actors/trainer';
import { experimentMachine, experimentPhase } from '../../machines/experiment';
import { selectBackend } from '../../src/backend';
import { glueLabelCount, readGlueTsv, type GlueExample } from '../../src/data/glue';
import {
  evaluationPrompt,
  readLlmAdaptersJson,
  splitValidation,
  tokenizeForTraining,
  type InstructionRecord,
} from '../../src/data/llm-adapters';
import { glueMetrics, glueObjective } from '../../src/eval/glue-metrics';
import type { LonasEvent } from '../../src/events';
import { writeFileAtomic } from '../../src/io/atomic-write';
import { loadAdapter } from '../../src/io/peft';
import { openCheckpoint, type Checkpoint } from '../../src/models/checkpoint';
import type { LoadedModel } from '../../src/models/registry';
import { subnetCost } from '../../src/nas/cost';
import { readNasConfig, type NasConfig } from '../../src/nas/nas-config';
import { openSuperNetwork } from '../../src/nas/open-super-network';
import { globalScheduleOf, tracedTokens } from '../../src/nas/nncf-config';
import type { SubnetConfig } from '../../src/nas/search-space';
import { SuperNetwork } from '../../src/nas/super-network';
import { generationAccuracy } from '../../src/tasks/generation-accuracy';
import { commonsenseTask, mathTask, type LlmTask } from '../../src/tasks/tasks';
import { collate, type Example } from '../../src/train/batches';
import { stagesFrom } from '../../src/train/schedule';
import { taskLoss } from '../../src/train/task-loss';
import { loadTokenizer } from '../../src/tokenizers/load-tokenizer';
import type { TextTokenizer } from '../../src/tokenizers/text-tokenizer';
import { showSearchProgress, showTrainingProgress } from '../../src/util/progress-bar';
import { parseFlags, UsageError, type Command } from './command';
import { liveFlagOptions, liveFlagsUsage, startLive } from './live-flags';
import { loraFlagOptions, loraFlags, loraFlagsUsage } from './lora-flags';
import { recordEvents } from '../../src/live/event-log';
import { runSummary } from './run-summary';
import * as tf from '@tensorflow/tfjs-core';

type Family = 'commonsense' | 'math' | 'glue';

/** Flags of the original scripts that lonas accepts and does not use, and why. */
const IGNORED: Record<string, string> = {
  learning_rate: 'the stage schedule (init_lr) sets the learning rate',
  warmup_steps: 'the stage schedule has no warm-up',
  warmup_ratio: 'the stage schedule has no warm-up',
  lr_scheduler_type: 'the stage schedule sets the learning rate',
  fp16: 'lonas trains in float32',
  bf16: 'lonas trains in float32',
  optim: 'lonas uses AdamW',
  evaluation_strategy: 'evaluation is --do_test',
  eval_steps: 'evaluation is --do_test',
  overwrite_output_dir: 'outputs are overwritten atomically',
  report_to: 'events go to --events and the live stream',
  group_by_length: 'batches follow a seeded order',
  logging_steps: 'every step is an event (--events)',
  lora: 'lonas always trains LoRA adapters',
};

const options = {
  model_name_or_path: { type: 'string' },
  tokenizer: { type: 'string' },
  nncf_config: { type: 'string' },
  output_dir: { type: 'string' },
  dataset_path: { type: 'string' },
  datasets_dir: { type: 'string', default: 'datasets' },
  test_datasets: { type: 'string' },
  max_test_samples: { type: 'string' },
  max_train_samples: { type: 'string' },
  val_set_size: { type: 'string', default: '0' },
  task_name: { type: 'string' },
  max_seq_length: { type: 'string' },
  cutoff_len: { type: 'string', default: '256' },
  train_on_inputs: { type: 'string', default: 'true' },
  do_train: { type: 'boolean', default: false },
  do_test: { type: 'boolean', default: false },
  do_search: { type: 'boolean', default: false },
  lora_weights: { type: 'string' },
  per_device_train_batch_size: { type: 'string', default: '4' },
  per_device_eval_batch_size: { type: 'string', default: '8' },
  gradient_accumulation_steps: { type: 'string', default: '1' },
  num_train_epochs: { type: 'string' },
  save_strategy: { type: 'string', default: 'epoch' },
  save_total_limit: { type: 'string' },
  seed: { type: 'string', default: '0' },
  num_beams: { type: 'string', default: '4' },
  max_new_tokens: { type: 'string' },
  resume: { type: 'boolean', default: false },
  events: { type: 'boolean', default: false },
  backend: { type: 'string' },
  ...liveFlagOptions,
  ...loraFlagOptions,
  ...Object.fromEntries(
    Object.keys(IGNORED).map((flag) => [
      flag,
      { type: ['fp16', 'bf16', 'overwrite_output_dir', 'group_by_length'].includes(flag) ? 'boolean' : 'string' },
    ]),
  ),
} as const;

function usageOf(family: Family): string {
  const data =
    family === 'glue'
      ? `  --task_name T                       rte, mrpc, stsb, cola, sst2, qnli, qqp or mnli
  --dataset_path DIR                  the task's GLUE folder (train.tsv, dev.tsv; MNLI: dev_matched.tsv
                                      and dev_mismatched.tsv)
  --max_seq_length N                  tokens per example (default: the config's input_info, else 128)`
      : `  --dataset_path FILE                 LLM-Adapters training JSON (instruction, input, output, answer)
  --val_set_size N                    records held out (seed 42) for the search's accuracy
  --datasets_dir DIR                  test sets as <dir>/<name>/test.json (default datasets/)
  --test_datasets A,B                 which of them (default: all of ${(family === 'math' ? mathTask : commonsenseTask).datasets.join(', ')} present)
  --max_test_samples N                the first N of each test set
  --cutoff_len N                      training tokens per example (default 256)
  --train_on_inputs true|false        learn the prompt too (default true)
  --num_beams N / --max_new_tokens N  generation (default 4 and ${family === 'math' ? 256 : 32})`;
  return `usage: lonas ${family} --model_name_or_path PATH --nncf_config FILE --output_dir DIR [--do_train] [--do_test] [--do_search] [options]

${family === 'glue' ? 'GLUE with BERT' : family === 'math' ? 'Math reasoning' : 'Commonsense reasoning'}, as LoNAS's run_${family}.py: train a super-adapter, test the heuristic subnet, search the Pareto front.

  --model_name_or_path PATH           base model (Hugging Face folder or llama2.c .bin)
  --tokenizer PATH                    for checkpoints without one (llama2.c)
  --nncf_config FILE                  search space, stage schedule, search settings
  --output_dir DIR                    adapter, checkpoints, results, search outputs
  --lora_weights DIR                  a trained super-adapter to test or search without training
${data}
  --max_train_samples N               use the first N training examples
  --per_device_train_batch_size N     (default 4)      --gradient_accumulation_steps N (default 1)
  --per_device_eval_batch_size N      prompts generated together (default 8)
  --num_train_epochs N                default: the schedule's total
  --save_strategy epoch|no  --save_total_limit N  --resume  --seed N  --events  --backend NAME
${liveFlagsUsage}
${loraFlagsUsage}

Accepted and ignored (named on stderr): ${Object.keys(IGNORED)
    .map((f) => `--${f}`)
    .join(', ')}.`;
}

const int = (value: string | undefined, flag: string): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a non-negative integer, got '${value}'`);
  return n;
};

/** A GLUE checkpoint's classifier sized for another label count is dropped and re-initialised (HF's ignore_mismatched_sizes). */
function forTask(checkpoint: Checkpoint, labels: number): Checkpoint {
  const config = { ...checkpoint.config, num_labels: labels };
  delete (config as Record<string, unknown>).id2label;
  const classifier = checkpoint.weights.names().find((n) => n.endsWith('classifier.weight'));
  const mismatched = classifier !== undefined && checkpoint.weights.read(classifier).shape[0] !== labels;
  if (!mismatched) return { ...checkpoint, config };
  const names = checkpoint.weights.names().filter((n) => !/(^|\.)classifier\.(weight|bias)$/.test(n));
  return {
    ...checkpoint,
    config,
    weights: {
      description: checkpoint.weights.description,
      names: () => names,
      read: (n) => checkpoint.weights.read(n),
    },
  };
}

interface Loaded {
  loaded: LoadedModel;
  network: SuperNetwork;
  tokenizer: TextTokenizer;
  nasConfig: NasConfig;
  tokens: number;
}

export function taskCommand(family: Family): Command {
  return {
    name: family,
    summary: `LoNAS on ${family === 'glue' ? 'GLUE (BERT)' : family} tasks: --do_train, --do_test, --do_search`,
    usage: usageOf(family),
    async run(args) {
      const values = parseFlags(args, options);
      const given = Object.keys(IGNORED).filter((flag) => (values as Record<string, unknown>)[flag] !== undefined);
      if (given.length > 0) {
        process.stderr.write(
          `lonas ${family}: accepted and ignored: ${given.map((f) => `--${f} (${IGNORED[f]})`).join('; ')}\n`,
        );
      }
      const { model_name_or_path: model, nncf_config: nncf, output_dir: outputDir } = values;
      if (model === undefined || nncf === undefined || outputDir === undefined) {
        throw new UsageError('--model_name_or_path, --nncf_config and --output_dir are required');
      }
      if (!values.do_train && !values.do_test && !values.do_search)
        throw new UsageError('nothing to do: give --do_train, --do_test and/or --do_search');
      const task = family === 'glue' ? undefined : family === 'math' ? mathTask : commonsenseTask;
      const glueTask = values.task_name?.toLowerCase().replace('-', '');
      if (family === 'glue' && (glueTask === undefined || values.dataset_path === undefined)) {
        throw new UsageError('glue needs --task_name and --dataset_path (the folder with train.tsv and dev.tsv)');
      }
      if (family !== 'glue' && (values.do_train || values.do_search) && values.dataset_path === undefined) {
        throw new UsageError('--dataset_path (the training JSON) is needed to train or search');
      }
      const nasConfig = readNasConfig(nncf);
      const stages = stagesFrom(nasConfig.nncf.bootstrapNAS.training?.schedule?.list_stage_descriptions, nncf);
      const seed = int(values.seed, '--seed') ?? 0;
      const maxTrain = int(values.max_train_samples, '--max_train_samples');
      const maxTest = int(values.max_test_samples, '--max_test_samples');
      const evalBatch = Math.max(1, int(values.per_device_eval_batch_size, '--per_device_eval_batch_size') ?? 8);
      const numBeams = Math.max(1, int(values.num_beams, '--num_beams') ?? 4);
      const maxNewTokens = int(values.max_new_tokens, '--max_new_tokens') ?? task?.maxNewTokens ?? 32;
      const events = new Subject<LonasEvent>();
      if (values.events) events.subscribe((event) => process.stdout.write(`${JSON.stringify(event)}\n`));
      fs.mkdirSync(outputDir, { recursive: true });
      recordEvents(events, outputDir);
      const live = await startLive(events, values, {
        command: family,
        model,
        nncf_config: nncf,
        output_dir: outputDir,
        task: glueTask,
      });
      const writeJson = (name: string, value: unknown) =>
        writeFileAtomic(path.join(outputDir, name), `${JSON.stringify(value, null, 2)}\n`);

      let records: { train: InstructionRecord[]; validation: InstructionRecord[] } | undefined;
      const llmRecords = () => {
        if (records === undefined) {
          const all = readLlmAdaptersJson(values.dataset_path as string);
          records = splitValidation(
            maxTrain === undefined ? all : all.slice(0, maxTrain),
            int(values.val_set_size, '--val_set_size') ?? 0,
          );
        }
        return records;
      };
      const glueFile = (name: string) =>
        readGlueTsv(path.join(values.dataset_path as string, name), glueTask as string);

      /** The largest subnet's MACs (millions), the scale of the closing front table. */
      let maxMacs: number | undefined;
      const load = async (): Promise<Loaded> => {
        await selectBackend({ requested: values.backend });
        let checkpoint = openCheckpoint(model);
        if (family === 'glue') checkpoint = forTask(checkpoint, glueLabelCount(glueTask as string));
        const { loaded, network } = openSuperNetwork(checkpoint, nasConfig, { lora: loraFlags(values), seed });
        if ((family === 'glue') !== (loaded.kind === 'sequence-classification')) {
          throw new UsageError(
            `lonas ${family} needs ${family === 'glue' ? 'a BERT' : 'a LLaMA or BLOOM'} model, not ${loaded.model.config.modelType}`,
          );
        }
        if (values.lora_weights !== undefined) loadAdapter(values.lora_weights, network);
        const tokenizer = loadTokenizer(
          values.tokenizer ?? checkpoint.folder ?? path.join(path.dirname(model), 'tokenizer.bin'),
          {
            vocabSize: family === 'glue' ? undefined : loaded.model.config.vocabSize,
          },
        );
        const tokens = tracedTokens(nasConfig.nncf) ?? (family === 'glue' ? 128 : 256);
        maxMacs = subnetCost(network.plan, network.plan.space.maximal(), { tokens }).macs / 1e6;
        return { loaded, network, tokenizer, nasConfig, tokens };
      };

      const glueExamples = (tokenizer: TextTokenizer, examples: GlueExample[]): Example[] => {
        const maxLength = int(values.max_seq_length, '--max_seq_length') ?? tracedTokens(nasConfig.nncf) ?? 128;
        return examples.map((e) => {
          const a = tokenizer.tokenize(e.sentence1);
          const b = e.sentence2 === undefined ? undefined : tokenizer.tokenize(e.sentence2);
          const specials = tokenizer.addSpecialTokens([], b === undefined ? undefined : []).ids.length;
          let [lengthA, lengthB] = [a.length, b?.length ?? 0];
          while (lengthA + lengthB + specials > maxLength && lengthA + lengthB > 0) {
            if (lengthA >= lengthB) lengthA--;
            else lengthB--;
          }
          const { ids, typeIds } = tokenizer.addSpecialTokens(a.slice(0, lengthA), b?.slice(0, lengthB));
          return { inputIds: ids, tokenTypeIds: typeIds, label: e.label };
        });
      };

      const trainPhase = async ({ loaded, network, tokenizer }: Loaded) => {
        const examples =
          family === 'glue'
            ? glueExamples(
                tokenizer,
                maxTrain === undefined ? glueFile('train.tsv') : glueFile('train.tsv').slice(0, maxTrain),
              )
            : llmRecords().train.map((r) =>
                tokenizeForTraining(tokenizer, r, {
                  cutoffLength: int(values.cutoff_len, '--cutoff_len') ?? 256,
                  trainOnInputs: values.train_on_inputs !== 'false',
                }),
              );
        const batchSize = Math.max(1, int(values.per_device_train_batch_size, '--per_device_train_batch_size') ?? 4);
        const epochs = int(values.num_train_epochs, '--num_train_epochs') ?? stages.reduce((s, st) => s + st.epochs, 0);
        const samplerConfig = nasConfig.nncf.lonas?.sampler ?? {};
        showTrainingProgress(events, epochs * Math.ceil(examples.length / batchSize));
        const stop = { requested: false };
        const onSignal = () => (stop.requested = true);
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        try {
          return await train({
            network,
            loss: taskLoss(loaded),
            examples,
            collate: (batch) =>
              collate(batch, {
                padTokenId: tokenizer.padTokenId ?? 0,
                paddingSide: family === 'glue' ? 'right' : 'left',
                padToMultipleOf: 8,
              }),
            stages,
            globalSchedule: globalScheduleOf(nasConfig.nncf, nncf),
            sampler: samplerNamed(samplerConfig.name ?? 'uniform')(network.plan.space, {
              seed,
              randomSubnets: samplerConfig.random_subnets,
              subnet: samplerConfig.subnet,
            }),
            batchSize,
            gradientAccumulationSteps: Math.max(
              1,
              int(values.gradient_accumulation_steps, '--gradient_accumulation_steps') ?? 1,
            ),
            epochs,
            seed,
            weightDecay: family === 'glue' ? 0.1 : 0,
            outputDir,
            saveStrategy: values.save_strategy === 'no' ? 'no' : 'epoch',
            saveTotalLimit: int(values.save_total_limit, '--save_total_limit'),
            resume: values.resume,
            adapter: { baseModel: model, taskType: family === 'glue' ? 'SEQ_CLS' : 'CAUSAL_LM' },
            stop,
            events,
          });
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      };

      /** MNLI is evaluated on its matched validation set (and reports the mismatched one too). */
      const devFile = glueTask === 'mnli' ? 'dev_matched.tsv' : 'dev.tsv';
      const devExamplesOf = (tokenizer: TextTokenizer, file: string) =>
        glueExamples(tokenizer, maxTest === undefined ? glueFile(file) : glueFile(file).slice(0, maxTest));
      let devExamples: Example[] | undefined;
      const glueDev = (tokenizer: TextTokenizer) => {
        devExamples ??= devExamplesOf(tokenizer, devFile);
        return devExamples;
      };

      /** GLUE metrics of the active subnet on `examples` (all at once: Matthews and Pearson do not average over batches). */
      const glueScoresOf = ({ loaded, tokenizer }: Loaded, examples: Example[]) => {
        if (loaded.kind !== 'sequence-classification') throw new Error('glue needs BERT');
        const predictions: number[] = [];
        for (let start = 0; start < examples.length; start += evalBatch) {
          const batch = collate(examples.slice(start, start + evalBatch), {
            padTokenId: tokenizer.padTokenId ?? 0,
            paddingSide: 'right',
          });
          const logits = tf.tidy(() =>
            loaded.model.forward({
              inputIds: tf.tensor2d(batch.inputIds, undefined, 'int32'),
              attentionMask: tf.tensor2d(batch.attentionMask, undefined, 'int32'),
              tokenTypeIds: tf.tensor2d(batch.tokenTypeIds, undefined, 'int32'),
            }),
          );
          const rows = logits.arraySync();
          logits.dispose();
          predictions.push(...rows.map((row) => (row.length === 1 ? row[0] : row.indexOf(Math.max(...row)))));
        }
        return glueMetrics(
          glueTask as string,
          predictions,
          examples.map((e) => e.label as number),
        );
      };

      const llmAccuracy = (
        state: Loaded,
        subnet: SubnetConfig,
        llm: LlmTask,
        samples: InstructionRecord[],
        dataset?: string,
      ) => {
        const { loaded, network, tokenizer } = state;
        if (loaded.kind !== 'causal-lm') throw new Error(`${family} needs a causal LM`);
        network.activate(subnet);
        return generationAccuracy(
          loaded.model,
          tokenizer,
          samples.map((r) => ({
            prompt: evaluationPrompt(r.instruction, llm.name),
            instruction: r.instruction,
            answer: r.answer,
          })),
          (response, answer) => llm.judge(dataset, response, answer),
          { maxNewTokens, numBeams, batchSize: evalBatch },
        );
      };

      const testPhase = async (state: Loaded) => {
        const subnet = state.network.plan.space.heuristic();
        const cost = subnetCost(state.network.plan, subnet, { tokens: state.tokens });
        if (task === undefined) {
          state.network.activate(subnet);
          const { metrics } = glueScoresOf(state, glueDev(state.tokenizer));
          const mismatched =
            glueTask === 'mnli'
              ? glueScoresOf(state, devExamplesOf(state.tokenizer, 'dev_mismatched.tsv')).metrics
              : {};
          const result = {
            heuristic_macs: cost.macs / 1e6,
            heuristic_weights: cost.weights,
            ...Object.fromEntries(Object.entries(metrics).map(([k, v]) => [`heuristic_${k}`, v])),
            ...Object.fromEntries(Object.entries(mismatched).map(([k, v]) => [`heuristic_${k}_mm`, v])),
          };
          writeJson('eval_results.json', result);
          return result;
        }
        const wanted = values.test_datasets?.split(',').map((d) => d.trim()) ?? task.datasets;
        const present = wanted.filter((d) => fs.existsSync(path.join(values.datasets_dir as string, d, 'test.json')));
        if (present.length === 0)
          throw new UsageError(
            `no test sets found: expected ${values.datasets_dir}/<name>/test.json for ${wanted.join(', ')}`,
          );
        const prefix = task.name === 'math' ? 'heuristic' : 'Heuristic';
        const result: Record<string, number | string> = {
          [`${prefix}_macs`]: String(cost.macs / 1e6),
          [`${prefix}_weights`]: cost.weights,
        };
        const accuracies: number[] = [];
        for (const dataset of present) {
          process.stderr.write(`lonas ${family}: testing the heuristic subnet on ${dataset}\n`);
          const all = readLlmAdaptersJson(path.join(values.datasets_dir as string, dataset, 'test.json'));
          const { accuracy, results } = llmAccuracy(
            state,
            subnet,
            task,
            maxTest === undefined ? all : all.slice(0, maxTest),
            dataset,
          );
          writeJson(`heuristic.${dataset}.res.json`, results);
          result[`${prefix}_${dataset}_accuracy`] = accuracy;
          accuracies.push(accuracy);
        }
        result[`${prefix}_avg_accuracy`] = accuracies.reduce((a, b) => a + b, 0) / accuracies.length;
        writeJson('test_results.json', result);
        return result;
      };

      const searchPhase = async (state: Loaded) => {
        const settings = nasConfig.nncf.bootstrapNAS.search ?? {};
        const algorithm = settings.algorithm ?? 'NSGA2';
        const population = settings.population ?? 40;
        const space = state.network.plan.space;
        const numEvals = settings.num_evals ?? 3000;
        showSearchProgress(events, numEvals);
        const validation = task === undefined ? [] : llmRecords().validation;
        if (task !== undefined && validation.length === 0)
          throw new UsageError('search needs --val_set_size > 0 (held-out training records)');
        const result = await search({
          space,
          strategy: strategyNamed(algorithm)({
            choices: space.groups.map((g) => g.widths.length),
            population,
            seed: settings.seed ?? 0,
            crossoverProbability: settings.crossover_prob,
            crossoverEta: settings.crossover_eta,
            mutationProbability: settings.mutation_prob,
            mutationEta: settings.mutation_eta,
          }),
          algorithm,
          numEvals,
          population,
          macs: (subnet) => subnetCost(state.network.plan, subnet, { tokens: state.tokens }).macs / 1e6,
          weights: (subnet) => subnetCost(state.network.plan, subnet, { tokens: state.tokens }).weights,
          // Every candidate is scored by the evaluator actor over a stream of batches.
          accuracy: async (subnet) => {
            if (task === undefined) {
              const metric = glueObjective(glueTask as string);
              const examples = glueDev(state.tokenizer);
              const score = (batch: Example[]) => ({
                total: glueScoresOf(state, batch).metrics[metric] * batch.length,
                count: batch.length,
              });
              return (await evaluate({ network: state.network, subnet, batches: from([examples]), metric, score }))
                .value;
            }
            const chunks = Array.from({ length: Math.ceil(validation.length / evalBatch) }, (_, i) =>
              validation.slice(i * evalBatch, (i + 1) * evalBatch),
            );
            const event = await evaluate({
              network: state.network,
              subnet,
              batches: from(chunks),
              metric: 'accuracy',
              score: (chunk) => {
                const { accuracy } = llmAccuracy(state, subnet, task, chunk);
                return { total: accuracy * chunk.length, count: chunk.length };
              },
            });
            return event.value;
          },
          refAcc: settings.ref_acc ?? -1,
          accDelta: settings.acc_delta ?? 1,
          outputDir,
          events,
        });
        return result;
      };

      const machine = experimentMachine.provide({
        actors: {
          load: experimentPhase(load),
          train: experimentPhase(trainPhase),
          test: experimentPhase(testPhase),
          search: experimentPhase(searchPhase),
        },
      });
      const actor = createActor(machine, {
        input: { doTrain: values.do_train, doTest: values.do_test, doSearch: values.do_search },
      }).start();
      await toPromise(actor);
      events.complete();
      await live?.close();
      const { value, context } = actor.getSnapshot();
      if (value === 'failed') {
        process.stderr.write(`lonas ${family}: ${context.reason ?? 'the experiment failed'}\n`);
        return 1;
      }
      const results = context.results as Parameters<typeof runSummary>[2];
      process.stderr.write(runSummary(family, outputDir, results, maxMacs));
      return 0;
    },
  };
}
