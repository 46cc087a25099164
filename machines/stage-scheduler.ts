import { assign, createMachine, type AnyStateMachine } from 'xstate';
import { globalLearningRate, stageIndexAt, stageLearningRate, stageStart, type Stage } from '../src/train/schedule';

export interface StageSchedulerContext {
  /** 0-based epoch of the run. */
  epoch: number;
  /** Micro-steps taken in this epoch. */
  microStep: number;
  /** Micro-steps taken in the run. */
  globalMicroStep: number;
  stageIndex: number;
  lr: number;
  widthIndicator: number;
  sampleRate: number;
}

export type StageSchedulerEvent = { type: 'MICRO_STEP' } | { type: 'EPOCH_END' };

export interface StageSchedulerOptions {
  stepsPerEpoch: number;
  /** NNCF's global lr_schedule (cosine from base_lr over the whole run) instead of per-stage cosines. */
  globalSchedule?: { baseLr: number; totalEpochs: number };
}

const stateName = (index: number) => `stage${index}`;

/**
 * The stage scheduler as an xstate machine: one state per stage of list_stage_descriptions,
 * moving on epoch boundaries. Each MICRO_STEP sets the learning rate for that micro-step
 * (NNCF's per-stage cosine, or a global one); the context carries the active width indicator
 * and sample rate. Its snapshots persist and restore with xstate's getPersistedSnapshot.
 */
export function stageSchedulerMachine(stages: Stage[], options: StageSchedulerOptions): AnyStateMachine {
  const { stepsPerEpoch, globalSchedule } = options;
  if (!Number.isInteger(stepsPerEpoch) || stepsPerEpoch < 1) {
    throw new Error(`the stage scheduler needs at least one micro-step per epoch, got ${stepsPerEpoch}`);
  }
  const lrAt = (epoch: number, microStep: number, globalMicroStep: number) => {
    if (globalSchedule !== undefined) {
      return globalLearningRate(globalSchedule.baseLr, globalMicroStep, globalSchedule.totalEpochs * stepsPerEpoch);
    }
    const index = stageIndexAt(stages, epoch);
    return stageLearningRate(stages[index], epoch - stageStart(stages, index), microStep, stepsPerEpoch);
  };
  const states = Object.fromEntries(
    stages.map((stage, index) => [
      stateName(index),
      {
        entry: assign({ stageIndex: index, widthIndicator: stage.widthIndicator, sampleRate: stage.sampleRate }),
        always: stages
          .map((_, other) => other)
          .filter((other) => other !== index)
          .map((other) => ({
            guard: ({ context }: { context: StageSchedulerContext }) => stageIndexAt(stages, context.epoch) === other,
            target: stateName(other),
          })),
        on: {
          MICRO_STEP: {
            actions: assign(({ context }: { context: StageSchedulerContext }) => ({
              microStep: context.microStep + 1,
              globalMicroStep: context.globalMicroStep + 1,
              lr: lrAt(context.epoch, context.microStep + 1, context.globalMicroStep + 1),
            })),
          },
          EPOCH_END: {
            actions: assign(({ context }: { context: StageSchedulerContext }) => ({
              epoch: context.epoch + 1,
              microStep: 0,
            })),
          },
        },
      },
    ]),
  );
  return createMachine({
    id: 'stageScheduler',
    types: {} as { context: StageSchedulerContext; events: StageSchedulerEvent },
    context: {
      epoch: 0,
      microStep: 0,
      globalMicroStep: 0,
      stageIndex: 0,
      lr: lrAt(0, 0, 0),
      widthIndicator: stages[0].widthIndicator,
      sampleRate: stages[0].sampleRate,
    },
    initial: stateName(0),
    states,
  });
}
