import { assign, createMachine, type AnyStateMachine } from 'xstate';
import {
  globalLearningRate,
  samplesAt,
  stageIndexAt,
  stageLearningRate,
  stageStart,
  type GlobalSchedule,
  type Stage,
} from '../src/train/schedule';

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
  /** Whether this micro-step samples a subnet (NNCF's counter against sample_rate). */
  sample: boolean;
}

export type StageSchedulerEvent = { type: 'MICRO_STEP' } | { type: 'EPOCH_END' };

export interface StageSchedulerOptions {
  stepsPerEpoch: number;
  /** NNCF's global lr_schedule (warm-up, then a cosine over num_epochs) instead of per-stage cosines. */
  globalSchedule?: GlobalSchedule;
}

const stateName = (index: number) => `stage${index}`;

/**
 * The stage scheduler as an xstate machine: one state per stage of list_stage_descriptions,
 * moving on epoch boundaries. Each MICRO_STEP sets the learning rate for that micro-step
 * (NNCF's per-stage cosine, or a global one) and whether it samples a subnet; the context carries
 * the active width indicator and sample rate. Its snapshots persist and restore with xstate's getPersistedSnapshot.
 */
export function stageSchedulerMachine(stages: Stage[], options: StageSchedulerOptions): AnyStateMachine {
  const { stepsPerEpoch, globalSchedule } = options;
  if (!Number.isInteger(stepsPerEpoch) || stepsPerEpoch < 1) {
    throw new Error(`the stage scheduler needs at least one micro-step per epoch, got ${stepsPerEpoch}`);
  }
  /** The learning rate of micro-step `microStep` (1-based) of `epoch`. */
  const lrAt = (epoch: number, microStep: number) => {
    if (globalSchedule !== undefined) return globalLearningRate(globalSchedule, epoch, microStep - 1, stepsPerEpoch);
    const index = stageIndexAt(stages, epoch);
    return stageLearningRate(stages[index], epoch - stageStart(stages, index), microStep, stepsPerEpoch);
  };
  /** NNCF's step counter before the micro-step that follows `taken` micro-steps of `epoch` (and `globalTaken` in all). */
  const counterBefore = (epoch: number, taken: number, globalTaken: number) =>
    globalSchedule !== undefined
      ? globalTaken - 1
      : (epoch - stageStart(stages, stageIndexAt(stages, epoch))) * stepsPerEpoch + taken;
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
              lr: lrAt(context.epoch, context.microStep + 1),
              sample: samplesAt(
                counterBefore(context.epoch, context.microStep, context.globalMicroStep),
                context.sampleRate,
              ),
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
      lr: lrAt(0, 0),
      widthIndicator: stages[0].widthIndicator,
      sampleRate: stages[0].sampleRate,
      sample: false,
    },
    initial: stateName(0),
    states,
  });
}
