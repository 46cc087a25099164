import * as tf from '@tensorflow/tfjs-core';
import { hostMemoryBackend, hostView } from '../backend/host-view';
import { readScalar } from '../backend/read-scalar';
import { sumAll } from '../nn/sum-all';

/** Training went non-finite: the run stops, and nothing non-finite is written. */
export class DivergedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DivergedError';
  }
}

/**
 * The index of the first tensor holding a NaN or an infinity, or -1 when all are finite. Off host
 * memory, one reduction and one read-back cover them all; only a non-finite total looks tensor by
 * tensor.
 */
export async function firstNonFinite(tensors: tf.Tensor[]): Promise<number> {
  if (tensors.length === 0) return -1;
  // In host memory, read in place: no kernels at all.
  if (hostMemoryBackend()) return tensors.findIndex((t) => !hostView(t).every(Number.isFinite));
  if (Number.isFinite(await readScalar(tf.tidy(() => sumAll(tensors.map((t) => tf.sum(tf.abs(t)))))))) return -1;
  for (const [i, t] of tensors.entries()) {
    if ((await readScalar(tf.tidy(() => tf.logicalNot(tf.all(tf.isFinite(t)))))) === 1) return i;
  }
  return -1;
}
