import type { LonasEvent } from '../../src/events';

/** A training step event for tests of event consumers. */
export function trainStep(
  globalStep: number,
  overrides: Partial<Extract<LonasEvent, { type: 'train.step' }>> = {},
): LonasEvent {
  return {
    type: 'train.step',
    epoch: 0,
    step: globalStep,
    globalStep,
    optimizerStep: globalStep,
    stage: 0,
    lr: 1e-3,
    loss: 2.5,
    subnet: {},
    examplesPerSecond: 10,
    ...overrides,
  };
}
