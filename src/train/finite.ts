import * as tf from '@tensorflow/tfjs-core';

/** Training went non-finite: the run stops, and nothing non-finite is written. */
export class DivergedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DivergedError';
  }
}

/**
 * The index of the first tensor holding a NaN or an infinity, or -1 when all are finite. One
 * reduction and one read-back cover them all; only a non-finite total looks tensor by tensor.
 */
export function firstNonFinite(tensors: tf.Tensor[]): number {
  if (tensors.length === 0) return -1;
  const total = tf.tidy(() => tf.addN(tensors.map((t) => tf.sum(tf.abs(t)))).dataSync()[0]);
  if (Number.isFinite(total)) return -1;
  return tensors.findIndex((t) => tf.tidy(() => tf.logicalNot(tf.all(tf.isFinite(t))).dataSync()[0] === 1));
}
