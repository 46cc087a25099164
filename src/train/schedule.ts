import type * as t from 'io-ts';
import type { StageDescriptionJson } from '../nas/nncf-config';

/** One stage of NNCF's progressive-shrinking schedule, with NNCF's defaults filled in. */
export interface Stage {
  trainDims: string[];
  epochs: number;
  widthIndicator: number;
  depthIndicator: number;
  initLr: number;
  epochsLr: number;
  /** Micro-steps between two subnet samples. */
  sampleRate: number;
}

export class ScheduleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleError';
  }
}

/** NNCF's DEFAULT_STAGE_LR_RATE, used when a stage gives no init_lr. */
export const DEFAULT_STAGE_LR = 3.5e-6;

const SUPPORTED_DIMS = ['width'];
const NNCF_DIMS = ['width', 'depth', 'kernel'];

/** Checks list_stage_descriptions and fills in defaults; a bad stage is refused before any work. */
export function stagesFrom(
  descriptions: Array<t.TypeOf<typeof StageDescriptionJson>> | undefined,
  source: string,
): Stage[] {
  if (descriptions === undefined || descriptions.length === 0) {
    throw new ScheduleError(`${source}: bootstrapNAS.training.schedule.list_stage_descriptions is empty or missing`);
  }
  return descriptions.map((d, i) => {
    const where = `${source}: list_stage_descriptions[${i}]`;
    const trainDims = d.train_dims ?? ['width'];
    for (const dim of trainDims) {
      if (!NNCF_DIMS.includes(dim))
        throw new ScheduleError(`${where}: unknown train_dims '${dim}' (NNCF knows ${NNCF_DIMS.join(', ')})`);
      if (!SUPPORTED_DIMS.includes(dim))
        throw new ScheduleError(`${where}: train_dims '${dim}' is not elastic in lonas (only width)`);
    }
    const epochs = d.epochs ?? 1;
    if (!Number.isInteger(epochs) || epochs < 1)
      throw new ScheduleError(`${where}: epochs must be a positive integer, got ${epochs}`);
    const initLr = d.init_lr ?? DEFAULT_STAGE_LR;
    if (!(initLr > 0)) throw new ScheduleError(`${where}: init_lr must be positive, got ${initLr}`);
    const epochsLr = d.epochs_lr ?? epochs;
    if (!(epochsLr > 0)) throw new ScheduleError(`${where}: epochs_lr must be positive, got ${epochsLr}`);
    const widthIndicator = d.width_indicator ?? 1;
    if (widthIndicator !== -1 && !(Number.isInteger(widthIndicator) && widthIndicator > 0)) {
      throw new ScheduleError(`${where}: width_indicator must be -1 or a positive integer, got ${widthIndicator}`);
    }
    const sampleRate = d.sample_rate ?? 1;
    if (!Number.isInteger(sampleRate) || sampleRate < 1)
      throw new ScheduleError(`${where}: sample_rate must be a positive integer, got ${sampleRate}`);
    return { trainDims, epochs, widthIndicator, depthIndicator: d.depth_indicator ?? 1, initLr, epochsLr, sampleRate };
  });
}

/** The stage active in `epoch` (0-based): the first whose cumulative epochs exceed it; the last stays on after. */
export function stageIndexAt(stages: Stage[], epoch: number): number {
  let end = 0;
  for (let i = 0; i < stages.length; i++) {
    end += stages[i].epochs;
    if (epoch < end) return i;
  }
  return stages.length - 1;
}

/** The first epoch of a stage. */
export function stageStart(stages: Stage[], index: number): number {
  return stages.slice(0, index).reduce((sum, s) => sum + s.epochs, 0);
}

/**
 * NNCF's StageLRScheduler: a cosine from init_lr to 0 over epochs_lr epochs of N micro-steps, no
 * warm-up. For micro-batch k = 1..N of the stage's epoch e its step is t = e (N - 1) + k, which
 * is what NNCF's counter gives.
 */
export function stageLearningRate(stage: Stage, epochInStage: number, k: number, stepsPerEpoch: number): number {
  const t = epochInStage * (stepsPerEpoch - 1) + k;
  return 0.5 * stage.initLr * (1 + Math.cos((Math.PI * t) / (stage.epochsLr * stepsPerEpoch)));
}

/** A schedule over the whole run (NNCF's global lr_schedule, cosine): step t of T. */
export function globalLearningRate(baseLr: number, step: number, totalSteps: number): number {
  return 0.5 * baseLr * (1 + Math.cos((Math.PI * step) / totalSteps));
}
