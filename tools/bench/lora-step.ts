import * as tf from '@tensorflow/tfjs-core';
import type { LoadedModel } from '../../src/models/registry';
import type { SuperNetwork } from '../../src/nas/super-network';
import { readScalar } from '../../src/backend/read-scalar';
import { AdamW, clipToNorm, globalNorm, torchAdamW } from '../../src/train/adamw';
import { collate, type MicroBatch } from '../../src/train/batches';
import { taskLoss } from '../../src/train/task-loss';
import { SeededRandom } from '../../src/util/seeded-random';

/** A LoRA training step to time, on its fixed batch. */
export interface LoraTrainStep {
  /** One step; resolves to its loss. */
  step: () => Promise<number>;
  batch: MicroBatch;
  dispose: () => void;
}

/**
 * One LoRA training step as lonas's trainer takes it (loss, gradients of the adapters, norm
 * clipping to 1, torch's AdamW) on a fixed random batch, for benchmarks; PyTorch's twin is
 * tools/reference/bench_step.py.
 */
export function loraTrainStep(
  loaded: LoadedModel,
  network: SuperNetwork,
  shape: { batch: number; length: number; vocab: number },
): LoraTrainStep {
  const variables = network.trainableVariables();
  const optimizer = new AdamW(variables, { ...torchAdamW, weightDecay: 0 });
  const random = new SeededRandom(1);
  const rows = Array.from({ length: shape.batch }, () => ({
    inputIds: Array.from({ length: shape.length }, () => 3 + random.below(shape.vocab - 3)),
    label: 0,
  }));
  const batch = collate(rows, { padTokenId: 0, paddingSide: 'right' });
  const loss = taskLoss(loaded);
  // Its reads are awaited, as the trainer's are, so it runs on a GPU too; it resolves to the loss.
  const step = async () => {
    const { value, grads } = tf.variableGrads(() => loss(batch), variables);
    const gradients = variables.map((v) => grads[v.name]);
    const clipped = clipToNorm(gradients, await readScalar(globalNorm(gradients)), 1);
    optimizer.apply(clipped, 1e-4);
    tf.dispose([...gradients, ...clipped]);
    return readScalar(value);
  };
  return { step, batch, dispose: () => optimizer.dispose() };
}
