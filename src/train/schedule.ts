import type * as t from 'io-ts';
import type { LrScheduleJson, StageDescriptionJson } from '../nas/nncf-config';

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

/**
 * Stage settings NNCF acts on that lonas does not, each with why: said when a run starts, never
 * dropped in silence (LoNAS's own configs leave both off).
 */
export function stageSettingsNotDone(
  descriptions: Array<t.TypeOf<typeof StageDescriptionJson>> | undefined,
  source: string,
): string[] {
  return (descriptions ?? []).flatMap((d, i) => [
    ...(d.reorg_weights === true
      ? [
          `${source}: list_stage_descriptions[${i}].reorg_weights true: not done (lonas keeps the pretrained channel order)`,
        ]
      : []),
    ...(d.bn_adapt === true
      ? [
          `${source}: list_stage_descriptions[${i}].bn_adapt true: not done (the models lonas trains have no batch norm to adapt)`,
        ]
      : []),
  ]);
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

/** NNCF's GlobalLRScheduler settings, with its defaults filled in. */
export interface GlobalSchedule {
  baseLr: number;
  /** Epochs of the cosine; NNCF's default is the stages' total, not the Trainer's epoch count. */
  numEpochs: number;
  warmupEpochs: number;
  warmupLr: number;
}

/**
 * `bootstrapNAS.training.lr_schedule` read as NNCF reads it: `params.base_lr` makes a global
 * schedule (`num_epochs`, `warmup_epochs` and `warmup_lr` defaulting as NNCF's do) that no stage may
 * override with its own `init_lr`. Without one, the stages' schedules run; anything NNCF would not
 * run is refused.
 */
export function globalScheduleFrom(
  lrSchedule: t.TypeOf<typeof LrScheduleJson> | undefined,
  descriptions: Array<t.TypeOf<typeof StageDescriptionJson>> | undefined,
  source: string,
): GlobalSchedule | undefined {
  if (lrSchedule === undefined) return undefined;
  const where = `${source}: bootstrapNAS.training.lr_schedule`;
  if (lrSchedule.type !== undefined && lrSchedule.type !== 'cosine') {
    throw new ScheduleError(`${where}.type must be "cosine" (NNCF's only global schedule), got "${lrSchedule.type}"`);
  }
  const params = lrSchedule.params ?? {};
  if (params.base_lr === undefined || !(params.base_lr > 0)) {
    throw new ScheduleError(`${where}.params.base_lr must be a positive number, got ${params.base_lr}`);
  }
  const staged = (descriptions ?? []).findIndex((d) => d.init_lr !== undefined);
  if (staged >= 0) {
    throw new ScheduleError(
      `${where} is a global schedule: list_stage_descriptions[${staged}].init_lr cannot set a stage's own (NNCF refuses both)`,
    );
  }
  const schedule: GlobalSchedule = {
    baseLr: params.base_lr,
    numEpochs: params.num_epochs ?? (descriptions ?? []).reduce((sum, d) => sum + (d.epochs ?? 1), 0),
    warmupEpochs: params.warmup_epochs ?? 0,
    warmupLr: params.warmup_lr ?? 3.4e-4,
  };
  if (!(schedule.numEpochs > 0)) throw new ScheduleError(`${where}.params.num_epochs must be positive`);
  if (!(schedule.warmupEpochs >= 0)) throw new ScheduleError(`${where}.params.warmup_epochs must be >= 0`);
  if (!(schedule.warmupLr >= 0)) throw new ScheduleError(`${where}.params.warmup_lr must be >= 0`);
  return schedule;
}

/**
 * NNCF's GlobalLRScheduler at micro-step j (0-based) of epoch e, N micro-steps an epoch. Its step
 * counter runs over the whole run (g = e N + j) and it reads the step within the epoch as
 * g - e (N + 1) = j - e: a linear warm-up from warmup_lr to base_lr over warmup_epochs, then a
 * cosine over num_epochs.
 */
export function globalLearningRate(schedule: GlobalSchedule, epoch: number, j: number, N: number): number {
  const { baseLr, numEpochs, warmupEpochs, warmupLr } = schedule;
  const batch = j - epoch;
  if (epoch < warmupEpochs) {
    const t = epoch * N + batch + 1;
    return (t / (warmupEpochs * N)) * (baseLr - warmupLr) + warmupLr;
  }
  const t = (epoch - warmupEpochs) * N + batch;
  return 0.5 * baseLr * (1 + Math.cos((Math.PI * t) / (numEpochs * N)));
}

/** Python's modulo (never negative), as NNCF's `current_step % sample_rate` computes it. */
const pythonModulo = (a: number, b: number) => ((a % b) + b) % b;

/**
 * Whether NNCF samples a subnet at a micro-step: when its scheduler's step counter, before the
 * step, is a multiple of sample_rate. With per-stage schedules that counter restarts at 0 when a
 * stage begins; with a global one it runs over the whole run from -1.
 */
export function samplesAt(counter: number, sampleRate: number): boolean {
  return pythonModulo(counter, sampleRate) === 0;
}
