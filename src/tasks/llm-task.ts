import * as fs from 'fs';
import * as path from 'path';
import {
  checkScoredRecords,
  evaluationPrompt,
  parseInstructionRecords,
  readLlmAdaptersJson,
  splitValidation,
  tokenizeForTraining,
  type InstructionRecord,
} from '../data/llm-adapters';
import type { LlmTaskConfig } from './task-config';
import type { LoraPlan } from '../nas/elastic-plan';
import type { SubnetConfig } from '../nas/search-space';
import { generationAccuracy } from './generation-accuracy';
import { subnetRecord } from '../events';
import { fingerprint } from '../util/fingerprint';
import { yieldToEventLoop } from '../util/yield-to-event-loop';
import { ExperimentError } from '../util/experiment-error';
import type { Task, TaskContext } from './task';
import { commonsenseTask, mathTask } from './tasks';

/**
 * LoNAS's run_commonsense.py and run_math.py: an LLM-Adapters training JSON (a seeded part held
 * out for the search), test sets judged by 4-beam generation and answer extraction.
 */
/** run_commonsense.py's and run_math.py's LoRA arguments' defaults. */
export const LLM_TASK_LORA: LoraPlan = {
  targetModules: ['q_proj', 'v_proj'],
  rank: 32,
  alpha: 64,
  dropout: 0,
  modulesToSave: [],
};

export function llmTask(config: LlmTaskConfig): Task {
  const family = config.kind === 'math' ? mathTask : commonsenseTask;
  const testFile = (dataset: string) => path.join(config.datasetsDir, dataset, 'test.json');
  const testSets = () => {
    const wanted = config.testDatasets ?? family.datasets;
    const present = wanted.filter((d) => fs.existsSync(testFile(d)));
    // Sets named on purpose must all be there; LoNAS's own list is taken as far as it is present.
    const absent = config.testDatasets?.filter((d) => !present.includes(d)) ?? [];
    if (absent.length > 0) {
      throw new ExperimentError(
        `--test_datasets: no ${absent.map((d) => `'${d}'`).join(', ')} (expected ${absent.map(testFile).join(', ')})`,
      );
    }
    if (present.length === 0) {
      throw new ExperimentError(
        `no test sets found: expected ${config.datasetsDir}/<name>/test.json for ${wanted.join(', ')}`,
      );
    }
    return present;
  };
  let records: { train: InstructionRecord[]; validation: InstructionRecord[] } | undefined;
  const split = () => {
    if (records === undefined) {
      const all = readLlmAdaptersJson(config.datasetPath as string);
      const kept = config.maxTrainSamples === undefined ? all : all.slice(0, config.maxTrainSamples);
      records = splitValidation(kept, config.valSetSize);
    }
    return records;
  };
  return {
    name: config.kind,
    modelKind: 'causal-lm',
    identity: config,
    lora: LLM_TASK_LORA,
    shape: { tokens: config.cutoffLen, beams: config.numBeams },
    validate(phases) {
      if ((phases.train || phases.search) && config.datasetPath === undefined) {
        throw new ExperimentError('--dataset_path (the training JSON) is needed to train or search');
      }
      if (config.datasetPath !== undefined && (phases.train || phases.search) && !fs.existsSync(config.datasetPath)) {
        throw new ExperimentError(`${config.datasetPath}: no such training file`);
      }
      if (phases.search && config.valSetSize <= 0) {
        throw new ExperimentError('search needs --val_set_size > 0 (held-out training records)');
      }
      if (config.maxTestSamples !== undefined && config.maxTestSamples < 1) {
        throw new ExperimentError(`--max_test_samples must be at least 1, got ${config.maxTestSamples}`);
      }
      if (phases.search) checkScoredRecords(split().validation, config.datasetPath as string, 'the validation set');
      if (phases.test) {
        for (const dataset of testSets()) {
          checkScoredRecords(readLlmAdaptersJson(testFile(dataset)), testFile(dataset), `test set ${dataset}`);
        }
      }
    },
    bind(context: TaskContext) {
      const { loaded, network, tokenizer, evalBatchSize } = context;
      if (loaded.kind !== 'causal-lm') throw new ExperimentError(`${config.kind} needs a LLaMA or BLOOM model`);
      /** Generates for `samples` under `subnet` in batches, with progress events, and judges each response. */
      const accuracyOf = async (
        subnet: SubnetConfig,
        samples: InstructionRecord[],
        progress: { role: string; dataset?: string },
      ) => {
        network.activate(subnet);
        const results: Awaited<ReturnType<typeof generationAccuracy>>['results'] = [];
        for (let start = 0; start < samples.length; start += evalBatchSize) {
          await yieldToEventLoop();
          context.signal.throwIfAborted();
          const batch = samples.slice(start, start + evalBatchSize);
          const scored = await generationAccuracy(
            loaded.model,
            tokenizer,
            batch.map((r) => ({
              prompt: evaluationPrompt(r.instruction, family.name),
              instruction: r.instruction,
              answer: r.answer,
            })),
            (response, answer) => family.judge(progress.dataset, response, answer),
            { maxNewTokens: config.maxNewTokens, numBeams: config.numBeams, batchSize: evalBatchSize },
          );
          results.push(...scored.results);
          context.emit({
            type: 'eval.progress',
            ...progress,
            subnet: subnetRecord(subnet),
            done: results.length,
            total: samples.length,
          });
        }
        const correct = results.filter((r) => r.flag).length;
        return { accuracy: results.length === 0 ? 0 : correct / results.length, results };
      };
      return {
        paddingSide: 'left',
        trainingExamples: () =>
          split().train.map((r) =>
            tokenizeForTraining(tokenizer, r, { cutoffLength: config.cutoffLen, trainOnInputs: config.trainOnInputs }),
          ),
        async test(subnet, cost) {
          const prefix = family.name === 'math' ? 'heuristic' : 'Heuristic';
          const result: Record<string, number | string> = {
            [`${prefix}_macs`]: String(cost.macs / 1e6),
            [`${prefix}_weights`]: cost.weights,
          };
          const accuracies: number[] = [];
          for (const dataset of testSets()) {
            const all = readLlmAdaptersJson(testFile(dataset));
            const samples = config.maxTestSamples === undefined ? all : all.slice(0, config.maxTestSamples);
            const { accuracy, results } = await accuracyOf(subnet, samples, { role: 'test', dataset });
            context.output.writeJson(`heuristic.${dataset}.res.json`, results);
            result[`${prefix}_${dataset}_accuracy`] = accuracy;
            accuracies.push(accuracy);
            context.emit({
              type: 'eval.result',
              subnet: subnetRecord(subnet),
              metric: 'accuracy',
              value: accuracy,
              examples: samples.length,
              role: 'heuristic',
              split: dataset,
            });
          }
          result[`${prefix}_avg_accuracy`] = accuracies.reduce((a, b) => a + b, 0) / accuracies.length;
          context.output.writeJson('test_results.json', result);
          return result;
        },
        objective: (records) => {
          const validation =
            records === undefined ? split().validation : parseInstructionRecords(records, 'the validation records');
          if (records !== undefined) checkScoredRecords(validation, 'the validation records', 'the validation set');
          return {
            metric: 'accuracy',
            examples: validation.length,
            fingerprint: fingerprint(validation, config.numBeams, config.maxNewTokens, evalBatchSize),
            records: validation,
            // The dataset of each held-out record is inferred from its label, as LoNAS's search does.
            score: async (subnet) => (await accuracyOf(subnet, validation, { role: 'candidate' })).accuracy,
          };
        },
      };
    },
  };
}
