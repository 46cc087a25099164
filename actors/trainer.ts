import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as path from 'path';
import type { Observer } from 'rxjs';
import { createActor, type Snapshot } from 'xstate';
import { subnetRecord, type LonasEvent } from '../src/events';
import type { TrainResult } from '../src/train/train-result';
import { yieldToEventLoop } from '../src/util/yield-to-event-loop';
import { loadAdapter, saveAdapter, type SaveAdapterOptions } from '../src/nas/peft-adapter';
import { SafetensorsFile, writeSafetensors } from '../src/io/safetensors';
import { writeFileAtomic } from '../src/io/atomic-write';
import type { SuperNetwork } from '../src/nas/super-network';
import { AdamW, clipToNorm, globalNorm, torchAdamW, type AdamWVariant } from '../src/train/adamw';
import { DivergedError, firstNonFinite } from '../src/train/finite';
import { readScalar } from '../src/backend/read-scalar';
import { CheckpointError } from '../src/models/weights';
import { fingerprint } from '../src/util/fingerprint';
import { batchesPerEpoch, batchExamples, epochOrder, type Example, type MicroBatch } from '../src/train/batches';
import { latestCheckpoint, writeCheckpoint } from '../src/train/checkpoints';
import type { GlobalSchedule, Stage } from '../src/train/schedule';
import { SeededRandom } from '../src/util/seeded-random';
import { stageSchedulerMachine, type StageSchedulerContext } from '../machines/stage-scheduler';
import type { SamplerLogic, SamplerState } from './samplers/sampler';

export interface TrainerInput {
  network: SuperNetwork;
  /** The task loss of one micro-batch under the active subnet (forward pass included). */
  loss: (batch: MicroBatch) => tf.Scalar;
  examples: Example[];
  collate: (examples: Example[]) => MicroBatch;
  stages: Stage[];
  /** NNCF's global lr_schedule instead of the stages' own. */
  globalSchedule?: GlobalSchedule;
  sampler: SamplerLogic;
  batchSize: number;
  gradientAccumulationSteps: number;
  epochs: number;
  seed: number;
  weightDecay?: number;
  /** transformers' AdamW (the Trainer's default) or torch's (default). */
  optim?: AdamWVariant;
  maxGradNorm?: number;
  outputDir: string;
  saveStrategy: 'epoch' | 'no';
  /** Checkpoints kept, newest first (default DEFAULT_KEPT_CHECKPOINTS: a long run never fills the disk). */
  saveTotalLimit?: number;
  /** Continue from the newest checkpoint in outputDir. */
  resume?: boolean;
  adapter: Omit<SaveAdapterOptions, 'subnet'>;
  /** Settings of the caller's that a resume must match too (the model, the sampler), recorded in checkpoints. */
  identity?: Record<string, unknown>;
  /**
   * Runs after each epoch, before its checkpoint (transformers' evaluation_strategy "epoch"), in
   * evaluation mode: no dropout; the training subnet is restored afterwards.
   */
  afterEpoch?: (epoch: number) => Promise<void>;
  /** Aborted (a STOP, a SIGINT/SIGTERM): checkpoint after the current micro-step and stop. */
  signal?: AbortSignal;
  events?: Partial<Observer<LonasEvent>>;
}

/** Checkpoints kept when no save_total_limit is given (transformers keeps them all). */
export const DEFAULT_KEPT_CHECKPOINTS = 3;

/** Everything needed to continue a run exactly where it stopped. */
interface TrainerState {
  version: 1;
  epoch: number;
  /** The next micro-batch of `epoch`. */
  batch: number;
  globalStep: number;
  optimizerStep: number;
  accumulated: number;
  scheduler: Snapshot<unknown>;
  sampler: Snapshot<unknown>;
  dropoutRandom: number;
  epochLoss: { sum: number; count: number };
  sinceSample?: { sum: number; count: number };
  /** The settings the run was started with; a resume must match them. */
  settings?: Record<string, unknown>;
}

function readTrainerState(checkpoint: string): TrainerState {
  const file = path.join(checkpoint, 'trainer_state.json');
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  try {
    const state = JSON.parse(text) as TrainerState;
    if (typeof state === 'object' && state !== null && state.version === 1) return state;
  } catch {
    // Reported below, with the file named.
  }
  throw new CheckpointError(
    `${file}: ${text.trim() === '' ? 'empty or missing' : 'not a lonas trainer state'}; the checkpoint cannot be resumed`,
  );
}

/**
 * Trains the super-adapter as LoNAS does: micro-batches in a seeded order; every sample_rate
 * micro-steps a subnet from the sampler actor; the stage-scheduler machine's learning rate per
 * micro-step; gradients accumulated over gradient_accumulation_steps, clipped to a global norm of
 * 1, and applied by AdamW to the trainable variables only. It emits typed events, checkpoints
 * each epoch (and when its signal is aborted) and can resume from a checkpoint exactly.
 */
export async function train(input: TrainerInput): Promise<TrainResult> {
  const { network, examples, batchSize, gradientAccumulationSteps: accumulation, epochs, seed } = input;
  if (examples.length === 0) throw new Error('train: no training examples');
  const emit = (event: LonasEvent) => input.events?.next?.(event);
  const stepsPerEpoch = batchesPerEpoch(examples.length, batchSize);
  const variables = network.trainableVariables();
  // The Trainer's parameter groups: no weight decay on biases (LayerNorm weights are never trained here).
  const biases = new Set([...network.savedModules.values()].flatMap(({ bias }) => (bias === undefined ? [] : [bias])));
  const optimizer = new AdamW(
    variables,
    { ...torchAdamW, weightDecay: input.weightDecay ?? 0, variant: input.optim ?? 'adamw_torch' },
    biases,
  );
  const schedulerLogic = stageSchedulerMachine(input.stages, {
    stepsPerEpoch,
    globalSchedule: input.globalSchedule,
  });
  const dropoutRandom = new SeededRandom((seed ^ 0x5eed5eed) >>> 0);
  let state: TrainerState | undefined;
  let accumulated: tf.Tensor[] | undefined;
  const resumeFrom = input.resume ? latestCheckpoint(input.outputDir) : undefined;
  if (input.resume && resumeFrom === undefined) {
    throw new CheckpointError(`--resume: no checkpoint in ${input.outputDir} to resume from`);
  }
  // What a resumed run must share with the run that wrote the checkpoint, to continue it exactly
  // (the number of epochs may grow: training on where it stopped).
  const settings: Record<string, unknown> = {
    ...input.identity,
    seed,
    per_device_train_batch_size: batchSize,
    gradient_accumulation_steps: accumulation,
    weight_decay: input.weightDecay ?? 0,
    optim: input.optim ?? 'adamw_torch',
    max_grad_norm: input.maxGradNorm ?? 1,
    'training examples': fingerprint(examples),
    'stage schedule': fingerprint(input.stages, input.globalSchedule),
    'LoRA settings and search space': fingerprint(network.plan.lora, network.plan.space.groups),
  };
  if (resumeFrom !== undefined) {
    state = readTrainerState(resumeFrom);
    const differing = Object.keys(settings).filter(
      (key) => JSON.stringify(state?.settings?.[key]) !== JSON.stringify(settings[key]),
    );
    if (differing.length > 0) {
      const show = (value: unknown) => (value === undefined ? 'nothing' : JSON.stringify(value));
      throw new CheckpointError(
        `--resume: ${resumeFrom} was written with other settings: ` +
          differing.map((key) => `${key} ${show(state?.settings?.[key])} (now ${show(settings[key])})`).join('; '),
      );
    }
    loadAdapter(path.join(resumeFrom, 'adapter'), network);
    const tensors = SafetensorsFile.open(path.join(resumeFrom, 'optimizer.safetensors'));
    const read = (name: string, like: tf.Tensor) => tf.tensor(tensors.read(name).data, like.shape);
    optimizer.step = state.optimizerStep;
    optimizer.moments.forEach(({ m, v }, i) => {
      tf.tidy(() => {
        m.assign(read(`m.${i}`, m));
        v.assign(read(`v.${i}`, v));
      });
    });
    if (state.accumulated > 0) accumulated = variables.map((p, i) => read(`accumulated.${i}`, p));
    dropoutRandom.state = state.dropoutRandom;
  }
  // The trainer drives both machines with events and consumes what they emit: the scheduler's
  // learning rate and stage per micro-step, the sampler's subnet per SAMPLE.
  const scheduler = createActor(schedulerLogic, state === undefined ? {} : { snapshot: state.scheduler });
  const sampler = createActor(input.sampler, state === undefined ? {} : { snapshot: state.sampler });
  let schedule = scheduler.getSnapshot().context as StageSchedulerContext;
  let lastStage = -1;
  const scheduleUpdates = scheduler.subscribe((snapshot) => {
    schedule = snapshot.context as StageSchedulerContext;
    if (schedule.stageIndex === lastStage) return;
    lastStage = schedule.stageIndex;
    emit({
      type: 'train.stage',
      stage: schedule.stageIndex,
      epoch: schedule.epoch,
      widthIndicator: schedule.widthIndicator,
      sampleRate: schedule.sampleRate,
    });
  });
  const sampledSubnets = sampler.subscribe((snapshot) => network.activate((snapshot.context as SamplerState).subnet));
  scheduler.start();
  sampler.start();
  const dropoutSeed = () => dropoutRandom.below(2 ** 31);
  network.setDropoutSeeds(dropoutSeed);

  let { epoch, batch, globalStep, optimizerStep, epochLoss } = state ?? {
    epoch: 0,
    batch: 0,
    globalStep: 0,
    optimizerStep: 0,
    epochLoss: { sum: 0, count: 0 },
  };
  let accumulatedCount = state?.accumulated ?? 0;
  /** The losses since the sampler last chose: its feedback at the next SAMPLE. */
  let sinceSample = state?.sinceSample ?? { sum: 0, count: 0 };
  const losses: number[] = [];
  emit({
    type: 'train.start',
    epochs,
    stepsPerEpoch,
    totalSteps: epochs * stepsPerEpoch,
    examples: examples.length,
    globalStep,
    ...(resumeFrom === undefined ? {} : { resumedFrom: resumeFrom }),
  });

  let lastCheckpoint: string | undefined = resumeFrom;
  /** The error that stops a run gone non-finite, where it happened and what is left to resume from. */
  const diverged = (what: string) =>
    new DivergedError(
      `training diverged at epoch ${epoch + 1}, micro-step ${batch + 1}: ${what}; ` +
        (lastCheckpoint === undefined ? 'no checkpoint was written' : `the last good checkpoint is ${lastCheckpoint}`),
    );

  /** Saves the run so that it resumes at micro-batch `next.batch` of epoch `next.epoch`. */
  const checkpoint = async (reason: 'epoch' | 'signal', next: { epoch: number; batch: number }) => {
    const folder = await writeCheckpoint(
      input.outputDir,
      globalStep,
      async (dir) => {
        await saveAdapter(path.join(dir, 'adapter'), network, input.adapter);
        const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
        const read = async (name: string, tensor: tf.Tensor) => {
          tensors[name] = { shape: tensor.shape, data: (await tensor.data()) as Float32Array };
        };
        for (const [i, { m, v }] of optimizer.moments.entries()) {
          await read(`m.${i}`, m);
          await read(`v.${i}`, v);
        }
        for (const [i, g] of (accumulated ?? []).entries()) await read(`accumulated.${i}`, g);
        writeSafetensors(path.join(dir, 'optimizer.safetensors'), tensors);
        const saved: TrainerState = {
          version: 1,
          epoch: next.epoch,
          batch: next.batch,
          globalStep,
          optimizerStep,
          accumulated: accumulatedCount,
          scheduler: scheduler.getPersistedSnapshot(),
          sampler: sampler.getPersistedSnapshot(),
          dropoutRandom: dropoutRandom.state,
          epochLoss,
          sinceSample,
          settings,
        };
        writeFileAtomic(path.join(dir, 'trainer_state.json'), `${JSON.stringify(saved)}\n`);
      },
      input.saveTotalLimit ?? DEFAULT_KEPT_CHECKPOINTS,
    );
    lastCheckpoint = folder;
    emit({ type: 'train.checkpoint', folder, epoch, globalStep, reason });
  };

  try {
    for (; epoch < epochs; epoch++, batch = 0) {
      const order = epochOrder(examples.length, seed, epoch);
      for (; batch < stepsPerEpoch; batch++) {
        const started = performance.now();
        scheduler.send({ type: 'MICRO_STEP' });
        const { lr, widthIndicator, stageIndex } = schedule;
        if (schedule.sample) {
          const feedback =
            sinceSample.count === 0
              ? undefined
              : { subnet: network.subnet, loss: sinceSample.sum / sinceSample.count, globalStep };
          sampler.send({ type: 'SAMPLE', widthIndicator, ...(feedback === undefined ? {} : { feedback }) });
          sinceSample = { sum: 0, count: 0 };
        }
        const microBatch = input.collate(batchExamples(examples, order, batchSize, batch));
        const { value, grads } = tf.variableGrads(
          () => tf.div(input.loss(microBatch), accumulation) as tf.Scalar,
          variables,
        );
        const loss = (await readScalar(value)) * accumulation;
        const gradients = variables.map((v) => grads[v.name]);
        if (!Number.isFinite(loss)) {
          tf.dispose(gradients);
          throw diverged(`the loss is ${loss}`);
        }
        if (accumulated === undefined) {
          accumulated = gradients;
        } else {
          const previous = accumulated;
          accumulated = previous.map((g, i) => tf.add(g, gradients[i]));
          tf.dispose([...previous, ...gradients]);
        }
        accumulatedCount += 1;
        // transformers 4.31: step every `accumulation` micro-steps counted over the whole run
        // (total_batched_samples), or at the end of an epoch no longer than one window.
        const windowFull =
          (globalStep + 1) % accumulation === 0 || (stepsPerEpoch <= accumulation && batch + 1 === stepsPerEpoch);
        if (windowFull) {
          const norm = await readScalar(globalNorm(accumulated));
          if (!Number.isFinite(norm)) throw diverged(`the gradient norm is ${norm}`);
          const clipped = clipToNorm(accumulated, norm, input.maxGradNorm ?? 1);
          optimizer.apply(clipped, lr);
          const broken = await firstNonFinite(variables);
          if (broken >= 0) throw diverged(`the update made '${variables[broken].name}' non-finite`);
          tf.dispose([...clipped, ...accumulated]);
          accumulated = undefined;
          accumulatedCount = 0;
          optimizerStep += 1;
        }
        globalStep += 1;
        losses.push(loss);
        epochLoss = { sum: epochLoss.sum + loss, count: epochLoss.count + 1 };
        sinceSample = { sum: sinceSample.sum + loss, count: sinceSample.count + 1 };
        const seconds = (performance.now() - started) / 1000;
        emit({
          type: 'train.step',
          epoch,
          step: batch + 1,
          globalStep,
          optimizerStep,
          stage: stageIndex,
          lr,
          loss,
          subnet: subnetRecord(network.subnet),
          examplesPerSecond: microBatch.inputIds.length / Math.max(seconds, 1e-9),
        });
        await yieldToEventLoop();
        if (input.signal?.aborted) {
          await checkpoint('signal', { epoch, batch: batch + 1 });
          emit({ type: 'train.done', epochs: epoch, globalSteps: globalStep, interrupted: true });
          return { epochs: epoch, globalSteps: globalStep, interrupted: true, losses };
        }
      }
      scheduler.send({ type: 'EPOCH_END' });
      emit({ type: 'train.epoch', epoch, meanLoss: epochLoss.sum / Math.max(1, epochLoss.count) });
      epochLoss = { sum: 0, count: 0 };
      if (input.afterEpoch !== undefined) {
        const trainingSubnet = network.subnet;
        network.setDropoutSeeds(undefined);
        await input.afterEpoch(epoch);
        network.activate(trainingSubnet);
        network.setDropoutSeeds(dropoutSeed);
      }
      if (input.saveStrategy === 'epoch') await checkpoint('epoch', { epoch: epoch + 1, batch: 0 });
    }
    await saveAdapter(input.outputDir, network, input.adapter);
    emit({ type: 'train.done', epochs, globalSteps: globalStep, interrupted: false });
    return { epochs, globalSteps: globalStep, interrupted: false, losses };
  } finally {
    network.setDropoutSeeds(undefined);
    scheduleUpdates.unsubscribe();
    sampledSubnets.unsubscribe();
    scheduler.stop();
    sampler.stop();
    if (accumulated !== undefined) tf.dispose(accumulated);
    optimizer.dispose();
  }
}
