import * as fs from 'fs';
import * as path from 'path';
import type { Subject } from 'rxjs';
import { fromPromise } from 'xstate';
import type { PhaseInput } from '../../machines/experiment';
import type { LonasEvent } from '../../src/events';
import { collate } from '../../src/train/batches';
import { globalScheduleFrom, stagesFrom } from '../../src/train/schedule';
import type { TrainResult } from '../../src/train/train-result';
import { fingerprint } from '../../src/util/fingerprint';
import { train } from '../trainer';
import type { LoadedExperiment } from './load';
import type { ExperimentPlan } from './validate';

/**
 * The train phase: the super-adapter trained under the config's stage schedule with the plan's
 * sampler, checkpointed in the output folder; GLUE with evaluation_strategy "epoch" evaluates
 * after every epoch (eval_history.json).
 */
export const trainPhase = (events: Subject<LonasEvent>) =>
  fromPromise<TrainResult, PhaseInput<ExperimentPlan, LoadedExperiment>>(
    async ({ input: { plan, loaded, signal } }) => {
      const { config, nasConfig, task, output } = plan;
      const { network, bound, padTokenId } = loaded;
      const { training, outputDir } = config;
      const nncfTraining = nasConfig.nncf.bootstrapNAS.training;
      const descriptions = nncfTraining?.schedule?.list_stage_descriptions;
      const stages = stagesFrom(descriptions, nasConfig.source);
      const evaluateEachEpoch =
        config.phases.eval && training.evaluationStrategy === 'epoch' && bound.evaluate !== undefined;
      // A resumed run keeps the evaluations of the epochs it had done.
      const historyFile = path.join(outputDir, 'eval_history.json');
      let history: Array<Record<string, number>> =
        training.resume && fs.existsSync(historyFile)
          ? (JSON.parse(fs.readFileSync(historyFile, 'utf8')) as Array<Record<string, number>>)
          : [];
      return train({
        network,
        loss: loaded.taskLoss,
        examples: bound.trainingExamples(),
        collate: (batch) => collate(batch, { padTokenId, paddingSide: bound.paddingSide, padToMultipleOf: 8 }),
        stages,
        globalSchedule: globalScheduleFrom(nncfTraining?.lr_schedule, descriptions, nasConfig.source),
        sampler: plan.sampler(network.plan.space, training.seed),
        batchSize: training.batchSize,
        gradientAccumulationSteps: training.gradientAccumulationSteps,
        epochs: training.epochs ?? stages.reduce((sum, s) => sum + s.epochs, 0),
        seed: training.seed,
        weightDecay: training.weightDecay,
        optim: training.optim,
        afterEpoch: evaluateEachEpoch
          ? async (epoch) => {
              let metrics: Record<string, number> | undefined;
              try {
                metrics = await bound.evaluate?.(epoch + 1);
              } catch (error) {
                // A stop during the evaluation leaves it undone; the trainer still checkpoints the epoch.
                if (signal.aborted) return;
                throw error;
              }
              history = [...history.filter((h) => h.epoch < epoch + 1), { epoch: epoch + 1, ...metrics }];
              output.writeJson('eval_history.json', history);
            }
          : undefined,
        outputDir,
        saveStrategy: training.saveStrategy,
        saveTotalLimit: training.saveTotalLimit,
        resume: training.resume,
        adapter: { baseModel: config.model, taskType: loaded.adapterTaskType },
        identity: {
          model: config.model,
          task: fingerprint(task.identity ?? task.name),
          sampler: fingerprint(nasConfig.nncf.lonas?.sampler ?? {}),
        },
        signal,
        events,
      });
    },
  );
