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
import { adapterLoraPlan, loadAdapter } from '../../src/io/peft';
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
import { UsageError, type Command } from './command';
import { startLive } from './live-flags';
import { taskSettings, taskUsage, type Family } from './task-settings';
import { recordEvents } from '../../src/live/event-log';
import { runSummary } from './run-summary';
import * as tf from '@tensorflow/tfjs-core';

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
    usage: taskUsage(family),
    async run(args) {
      const settings = taskSettings(family, args);
      if (settings.ignored.length > 0) {
        process.stderr.write(
          `lonas ${family}: accepted and ignored: ${settings.ignored.map(({ flag, why }) => `--${flag} (${why})`).join('; ')}\n`,
        );
      }
      const { model, nncfConfig: nncf, outputDir, seed, evalBatchSize: evalBatch, maxTestSamples: maxTest } = settings;
      const task = family === 'glue' ? undefined : family === 'math' ? mathTask : commonsenseTask;
      const glueTask = settings.taskName;
      const nasConfig = readNasConfig(nncf);
      const stages = stagesFrom(nasConfig.nncf.bootstrapNAS.training?.schedule?.list_stage_descriptions, nncf);
      const events = new Subject<LonasEvent>();
      if (settings.events) events.subscribe((event) => process.stdout.write(`${JSON.stringify(event)}\n`));
      fs.mkdirSync(outputDir, { recursive: true });
      recordEvents(events, outputDir);
      const live = await startLive(
        events,
        { live: settings.live, 'live-token': settings.liveToken },
        { command: family, model, nncf_config: nncf, output_dir: outputDir, task: glueTask },
      );
      const writeJson = (name: string, value: unknown) =>
        writeFileAtomic(path.join(outputDir, name), `${JSON.stringify(value, null, 2)}\n`);
      const written = new Set<string>();
      /** GLUE's --do_eval and --do_test both report in eval_results.json, as the Trainer's save_metrics("eval"). */
      const mergeJson = (name: string, value: Record<string, unknown>) => {
        const file = path.join(outputDir, name);
        const before = written.has(name) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
        writeJson(name, { ...before, ...value });
        written.add(name);
      };

      let records: { train: InstructionRecord[]; validation: InstructionRecord[] } | undefined;
      const llmRecords = () => {
        if (records === undefined) {
          const all = readLlmAdaptersJson(settings.datasetPath as string);
          const maxTrain = settings.maxTrainSamples;
          records = splitValidation(maxTrain === undefined ? all : all.slice(0, maxTrain), settings.valSetSize);
        }
        return records;
      };
      const glueFile = (name: string) =>
        readGlueTsv(path.join(settings.datasetPath as string, name), glueTask as string);

      /** The largest subnet's MACs (millions), the scale of the closing front table. */
      let maxMacs: number | undefined;
      const load = async (): Promise<Loaded> => {
        await selectBackend({ requested: settings.backend });
        let checkpoint = openCheckpoint(model);
        if (family === 'glue') checkpoint = forTask(checkpoint, glueLabelCount(glueTask as string));
        const { loaded, network } = openSuperNetwork(checkpoint, nasConfig, {
          lora: settings.loraWeights === undefined ? settings.lora : adapterLoraPlan(settings.loraWeights),
          loraDefaults: settings.loraDefaults,
          seed,
        });
        if ((family === 'glue') !== (loaded.kind === 'sequence-classification')) {
          throw new UsageError(
            `lonas ${family} needs ${family === 'glue' ? 'a BERT' : 'a LLaMA or BLOOM'} model, not ${loaded.model.config.modelType}`,
          );
        }
        if (settings.loraWeights !== undefined) loadAdapter(settings.loraWeights, network);
        const tokenizer = loadTokenizer(
          settings.tokenizer ?? checkpoint.folder ?? path.join(path.dirname(model), 'tokenizer.bin'),
          {
            vocabSize: family === 'glue' ? undefined : loaded.model.config.vocabSize,
          },
        );
        const tokens = tracedTokens(nasConfig.nncf) ?? (family === 'glue' ? 128 : 256);
        maxMacs = subnetCost(network.plan, network.plan.space.maximal(), { tokens }).macs / 1e6;
        return { loaded, network, tokenizer, nasConfig, tokens };
      };

      const glueExamples = (tokenizer: TextTokenizer, examples: GlueExample[]): Example[] => {
        const maxLength = settings.maxSeqLength;
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

      /** MNLI is evaluated on its matched validation set (and reports the mismatched one too). */
      const devFile = glueTask === 'mnli' ? 'dev_matched.tsv' : 'dev.tsv';
      const devExamplesOf = (tokenizer: TextTokenizer, file: string) =>
        glueExamples(tokenizer, maxTest === undefined ? glueFile(file) : glueFile(file).slice(0, maxTest));
      const devSets = new Map<string, Example[]>();
      const glueDev = (tokenizer: TextTokenizer, file = devFile) => {
        if (!devSets.has(file)) devSets.set(file, devExamplesOf(tokenizer, file));
        return devSets.get(file) as Example[];
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

      /**
       * The patched Trainer's evaluate(): the minimum subnet, then the super-network, on the dev
       * set (MNLI: matched, then mismatched with `_mm`), as `eval_<metric>_super|_minimum`.
       */
      const glueEvaluation = (state: Loaded, epoch?: number) => {
        const space = state.network.plan.space;
        const metrics: Record<string, number> = {};
        const files: Array<[string, string, string]> =
          glueTask === 'mnli'
            ? [
                [devFile, '', 'matched'],
                ['dev_mismatched.tsv', '_mm', 'mismatched'],
              ]
            : [[devFile, '', 'dev']];
        for (const [file, suffix, split] of files) {
          for (const [role, subnet] of [
            ['minimum', space.minimal()],
            ['super', space.maximal()],
          ] as const) {
            state.network.activate(subnet);
            const examples = glueDev(state.tokenizer, file);
            const scores = glueScoresOf(state, examples).metrics;
            for (const [metric, value] of Object.entries(scores)) {
              metrics[`eval_${metric}_${role}${suffix}`] = value;
              events.next({
                type: 'eval.result',
                subnet: Object.fromEntries(Object.entries(subnet)),
                metric,
                value,
                examples: examples.length,
                role,
                split,
                ...(epoch === undefined ? {} : { epoch }),
              });
            }
          }
        }
        return metrics;
      };
      const evalHistory: Array<Record<string, number>> = [];

      const trainPhase = async (state: Loaded) => {
        const { loaded, network, tokenizer } = state;
        const examples =
          family === 'glue'
            ? glueExamples(
                tokenizer,
                settings.maxTrainSamples === undefined
                  ? glueFile('train.tsv')
                  : glueFile('train.tsv').slice(0, settings.maxTrainSamples),
              )
            : llmRecords().train.map((r) =>
                tokenizeForTraining(tokenizer, r, {
                  cutoffLength: settings.cutoffLen,
                  trainOnInputs: settings.trainOnInputs,
                }),
              );
        const batchSize = settings.trainBatchSize;
        const epochs = settings.epochs;
        const samplerConfig = nasConfig.nncf.lonas?.sampler ?? {};
        showTrainingProgress(events, epochs * Math.ceil(examples.length / batchSize));
        const stop = { requested: false };
        const onSignal = () => (stop.requested = true);
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        const evaluateEachEpoch = family === 'glue' && settings.doEval && settings.evaluationStrategy === 'epoch';
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
            gradientAccumulationSteps: settings.gradientAccumulationSteps,
            epochs,
            seed,
            weightDecay: settings.weightDecay,
            optim: settings.optim,
            afterEpoch: evaluateEachEpoch
              ? async (epoch) => {
                  evalHistory.push({ epoch: epoch + 1, ...glueEvaluation(state, epoch + 1) });
                  writeJson('eval_history.json', evalHistory);
                }
              : undefined,
            outputDir,
            saveStrategy: settings.saveStrategy,
            saveTotalLimit: settings.saveTotalLimit,
            resume: settings.resume,
            adapter: { baseModel: model, taskType: family === 'glue' ? 'SEQ_CLS' : 'CAUSAL_LM' },
            stop,
            events,
          });
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      };

      const evalPhase = async (state: Loaded) => {
        const metrics = glueEvaluation(state);
        mergeJson('eval_results.json', metrics);
        return metrics;
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
          { maxNewTokens: settings.maxNewTokens, numBeams: settings.numBeams, batchSize: evalBatch },
        );
      };

      const testPhase = async (state: Loaded) => {
        const subnet = state.network.plan.space.heuristic();
        const cost = subnetCost(state.network.plan, subnet, { tokens: state.tokens });
        if (task === undefined) {
          state.network.activate(subnet);
          const { metrics } = glueScoresOf(state, glueDev(state.tokenizer));
          const mismatched =
            glueTask === 'mnli' ? glueScoresOf(state, glueDev(state.tokenizer, 'dev_mismatched.tsv')).metrics : {};
          const result = {
            heuristic_macs: cost.macs / 1e6,
            heuristic_weights: cost.weights,
            ...Object.fromEntries(Object.entries(metrics).map(([k, v]) => [`heuristic_${k}`, v])),
            ...Object.fromEntries(Object.entries(mismatched).map(([k, v]) => [`heuristic_${k}_mm`, v])),
          };
          mergeJson('eval_results.json', result);
          return result;
        }
        const datasetsDir = settings.datasetsDir;
        const wanted = settings.testDatasets ?? task.datasets;
        const present = wanted.filter((d) => fs.existsSync(path.join(datasetsDir, d, 'test.json')));
        if (present.length === 0)
          throw new UsageError(`no test sets found: expected ${datasetsDir}/<name>/test.json for ${wanted.join(', ')}`);
        const prefix = task.name === 'math' ? 'heuristic' : 'Heuristic';
        const result: Record<string, number | string> = {
          [`${prefix}_macs`]: String(cost.macs / 1e6),
          [`${prefix}_weights`]: cost.weights,
        };
        const accuracies: number[] = [];
        for (const dataset of present) {
          process.stderr.write(`lonas ${family}: testing the heuristic subnet on ${dataset}\n`);
          const all = readLlmAdaptersJson(path.join(datasetsDir, dataset, 'test.json'));
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
        const searchSettings = nasConfig.nncf.bootstrapNAS.search ?? {};
        const algorithm = searchSettings.algorithm ?? 'NSGA2';
        const population = searchSettings.population ?? 40;
        const space = state.network.plan.space;
        const numEvals = searchSettings.num_evals ?? 3000;
        const validation = task === undefined ? [] : llmRecords().validation;
        if (task !== undefined && validation.length === 0)
          throw new UsageError('search needs --val_set_size > 0 (held-out training records)');
        // Every candidate is scored by the evaluator actor over a stream of batches.
        const accuracy = async (subnet: SubnetConfig) => {
          if (task === undefined) {
            const metric = glueObjective(glueTask as string);
            const examples = glueDev(state.tokenizer);
            const score = (batch: Example[]) => ({
              total: glueScoresOf(state, batch).metrics[metric] * batch.length,
              count: batch.length,
            });
            return (await evaluate({ network: state.network, subnet, batches: from([examples]), metric, score })).value;
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
        };
        // As the official scripts log before searching: the maximal and heuristic subnets on the validation set.
        const before: Record<string, number> = {};
        for (const [role, subnet] of [
          ['val_maximal', space.maximal()],
          ['val_heuristic', space.heuristic()],
        ] as const) {
          before[`${role}_accuracy`] = await accuracy(subnet);
          events.next({
            type: 'eval.result',
            subnet: Object.fromEntries(Object.entries(subnet)),
            metric: task === undefined ? glueObjective(glueTask as string) : 'accuracy',
            value: before[`${role}_accuracy`],
            examples: task === undefined ? glueDev(state.tokenizer).length : validation.length,
            role,
          });
        }
        process.stderr.write(
          `lonas ${family}: validation accuracy before the search: maximal ${before.val_maximal_accuracy.toFixed(4)}, heuristic ${before.val_heuristic_accuracy.toFixed(4)}\n`,
        );
        showSearchProgress(events, numEvals);
        return search({
          space,
          strategy: strategyNamed(algorithm)({
            choices: space.groups.map((g) => g.widths.length),
            population,
            seed: searchSettings.seed ?? 0,
            crossoverProbability: searchSettings.crossover_prob,
            crossoverEta: searchSettings.crossover_eta,
            mutationProbability: searchSettings.mutation_prob,
            mutationEta: searchSettings.mutation_eta,
          }),
          algorithm,
          numEvals,
          population,
          macs: (subnet) => subnetCost(state.network.plan, subnet, { tokens: state.tokens }).macs / 1e6,
          weights: (subnet) => subnetCost(state.network.plan, subnet, { tokens: state.tokens }).weights,
          accuracy,
          refAcc: searchSettings.ref_acc ?? -1,
          accDelta: searchSettings.acc_delta ?? 1,
          outputDir,
          before,
          events,
        });
      };

      const machine = experimentMachine.provide({
        actors: {
          load: experimentPhase(load),
          train: experimentPhase(trainPhase),
          eval: experimentPhase(evalPhase),
          test: experimentPhase(testPhase),
          search: experimentPhase(searchPhase),
        },
      });
      const actor = createActor(machine, {
        input: {
          doTrain: settings.doTrain,
          doEval: settings.doEval,
          doTest: settings.doTest,
          doSearch: settings.doSearch,
        },
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
