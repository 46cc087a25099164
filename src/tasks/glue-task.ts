import * as fs from 'fs';
import * as path from 'path';
import { glueLabelCount, parseGlueExamples, readGlueTsv, type GlueExample } from '../data/glue';
import { glueMetrics, glueObjective } from '../eval/glue-metrics';
import { tensorScoring } from '../eval/tensor-scoring';
import type { GlueTaskConfig } from './task-config';
import type { Checkpoint } from '../models/checkpoint';
import type { LoraPlan } from '../nas/elastic-plan';
import type { SubnetConfig } from '../nas/search-space';
import { collate, type Example } from '../train/batches';
import { truncatePair } from '../tokenizers/batch-encode';
import type { TextTokenizer } from '../tokenizers/text-tokenizer';
import { subnetRecord } from '../events';
import { fingerprint } from '../util/fingerprint';
import { yieldToEventLoop } from '../util/yield-to-event-loop';
import { ExperimentError } from '../util/experiment-error';
import type { Task, TaskContext } from './task';

/** A GLUE checkpoint's classifier sized for another label count is dropped and re-initialised (HF's ignore_mismatched_sizes). */
function withLabels(checkpoint: Checkpoint, labels: number): Checkpoint {
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

/** `[CLS] a [SEP] b [SEP]`, the longer sentence truncated first (HF's longest_first), at most `maxLength` tokens. */
function encodePairs(tokenizer: TextTokenizer, examples: GlueExample[], maxLength: number): Example[] {
  return examples.map((e) => {
    const a = tokenizer.tokenize(e.sentence1);
    const b = e.sentence2 === undefined ? undefined : tokenizer.tokenize(e.sentence2);
    const specials = tokenizer.addSpecialTokens([], b === undefined ? undefined : []).ids.length;
    const { ids, typeIds } = tokenizer.addSpecialTokens(...truncatePair(a, b, Math.max(0, maxLength - specials)));
    return { inputIds: ids, tokenTypeIds: typeIds, label: e.label };
  });
}

/** A row of logits' prediction: the regression output, or the first label of the highest logit. */
function prediction(logits: Float32Array): number {
  return logits.length === 1 ? logits[0] : logits.indexOf(Math.max(...logits));
}

/** run_glue.py's LoRA arguments' defaults; PEFT's SEQ_CLS task type trains and saves the classifier in full. */
export const GLUE_TASK_LORA: LoraPlan = {
  targetModules: ['query', 'key', 'value'],
  rank: 8,
  alpha: 16,
  dropout: 0.1,
  modulesToSave: ['classifier'],
};

/** LoNAS's run_glue.py: BERT on a GLUE task's TSVs, GLUE's metrics, the dev set as validation. */
export function glueTask(config: GlueTaskConfig): Task {
  const { taskName, datasetPath } = config;
  /** MNLI is evaluated on its matched validation set (and reports the mismatched one too). */
  const devFile = taskName === 'mnli' ? 'dev_matched.tsv' : 'dev.tsv';
  // The official run_glue.py searches MNLI on validation_mismatched: its evaluation loop over
  // (matched, mismatched) leaves the dataset variable bound to the last split, which the search takes.
  const searchFile = taskName === 'mnli' ? 'dev_mismatched.tsv' : devFile;
  const file = (name: string) => path.join(datasetPath, name);
  const read = (name: string, limit?: number) => {
    const all = readGlueTsv(file(name), taskName);
    return limit === undefined ? all : all.slice(0, limit);
  };
  return {
    name: 'glue',
    modelKind: 'sequence-classification',
    identity: config,
    lora: GLUE_TASK_LORA,
    shape: { tokens: config.maxSeqLength, beams: 1 },
    validate(phases) {
      glueLabelCount(taskName);
      const needed = [
        ...(phases.train ? ['train.tsv'] : []),
        ...(phases.eval || phases.test ? [devFile] : []),
        ...((phases.eval || phases.test) && taskName === 'mnli' ? ['dev_mismatched.tsv'] : []),
        ...(phases.search ? [searchFile] : []),
      ];
      for (const name of needed) {
        if (!fs.existsSync(file(name))) throw new ExperimentError(`${file(name)}: no such file (GLUE ${taskName})`);
        if (read(name).length === 0) throw new ExperimentError(`${file(name)}: no examples`);
      }
      if (config.maxTestSamples !== undefined && config.maxTestSamples < 1) {
        throw new ExperimentError(`--max_test_samples must be at least 1, got ${config.maxTestSamples}`);
      }
    },
    adaptCheckpoint: (checkpoint) => withLabels(checkpoint, glueLabelCount(taskName)),
    bind(context: TaskContext) {
      const { loaded, tokenizer, network, evalBatchSize } = context;
      if (loaded.kind !== 'sequence-classification') throw new ExperimentError('glue needs a BERT model');
      const model = loaded.model;
      const devSets = new Map<string, Example[]>();
      const dev = (name = devFile) => {
        if (!devSets.has(name)) {
          devSets.set(name, encodePairs(tokenizer, read(name, config.maxTestSamples), config.maxSeqLength));
        }
        return devSets.get(name) as Example[];
      };
      /** GLUE metrics of the active subnet on `examples` (all at once: Matthews and Pearson do not average over batches). */
      const scores = async (examples: Example[], progress?: (done: number) => void) => {
        // On host arrays where the backend and the active subnet allow it, else through tfjs.
        const scoring = model.hostScoring() ?? tensorScoring(model);
        const labels = model.config.numLabels;
        const predictions: number[] = [];
        for (let start = 0; start < examples.length; start += evalBatchSize) {
          await yieldToEventLoop();
          context.signal.throwIfAborted();
          const batch = collate(examples.slice(start, start + evalBatchSize), {
            padTokenId: tokenizer.padTokenId ?? 0,
            paddingSide: 'right',
          });
          const logits = await scoring.logits(batch);
          for (let at = 0; at < logits.length; at += labels)
            predictions.push(prediction(logits.subarray(at, at + labels)));
          progress?.(predictions.length);
        }
        return glueMetrics(
          taskName,
          predictions,
          examples.map((e) => e.label as number),
        ).metrics;
      };
      /** Scores `subnet` on a dev file's examples (or on `examples`), with progress events under `role`. */
      const scoreOn = async (subnet: SubnetConfig, role: string, name = devFile, examples = dev(name)) => {
        network.activate(subnet);
        return scores(examples, (done) =>
          context.emit({ type: 'eval.progress', role, subnet: subnetRecord(subnet), done, total: examples.length }),
        );
      };
      const devSplits: Array<[string, string, string]> =
        taskName === 'mnli'
          ? [
              [devFile, '', 'matched'],
              ['dev_mismatched.tsv', '_mm', 'mismatched'],
            ]
          : [[devFile, '', 'dev']];
      /**
       * Scores `subnet` as `role` on every dev split, reporting each metric as an event; resolves to
       * the metrics as `name` names them, with `_mm` for MNLI's mismatched split.
       */
      const report = async (subnet: SubnetConfig, role: string, name: (metric: string) => string, epoch?: number) => {
        const named: Record<string, number> = {};
        for (const [file, suffix, split] of devSplits) {
          for (const [metric, value] of Object.entries(await scoreOn(subnet, role, file))) {
            named[`${name(metric)}${suffix}`] = value;
            context.emit({
              type: 'eval.result',
              subnet: subnetRecord(subnet),
              metric,
              value,
              examples: dev(file).length,
              role,
              split,
              ...(epoch === undefined ? {} : { epoch }),
            });
          }
        }
        return named;
      };
      return {
        paddingSide: 'right',
        trainingExamples: () => encodePairs(tokenizer, read('train.tsv', config.maxTrainSamples), config.maxSeqLength),
        async test(subnet, cost) {
          const result: Record<string, number> = {
            heuristic_macs: cost.macs / 1e6,
            heuristic_weights: cost.weights,
            ...(await report(subnet, 'heuristic', (metric) => `heuristic_${metric}`)),
          };
          context.output.mergeJson('eval_results.json', result);
          return result;
        },
        /**
         * The patched Trainer's evaluate(): the minimum subnet, then the super-network, on the
         * dev set (MNLI: matched, then mismatched with `_mm`), as `eval_<metric>_minimum|_super`.
         */
        async evaluate(epoch) {
          const space = network.plan.space;
          return {
            ...(await report(space.minimal(), 'minimum', (metric) => `eval_${metric}_minimum`, epoch)),
            ...(await report(space.maximal(), 'super', (metric) => `eval_${metric}_super`, epoch)),
          };
        },
        objective: (records) => {
          const metric = glueObjective(taskName);
          const raw =
            records === undefined
              ? read(searchFile, config.maxTestSamples)
              : parseGlueExamples(records, 'the validation records');
          const examples = records === undefined ? dev(searchFile) : encodePairs(tokenizer, raw, config.maxSeqLength);
          return {
            metric,
            examples: examples.length,
            fingerprint: fingerprint(examples, taskName),
            records: raw,
            score: async (subnet) => (await scoreOn(subnet, 'candidate', searchFile, examples))[metric],
          };
        },
      };
    },
  };
}
