import * as tf from '@tensorflow/tfjs-core';
import { blasAddon } from '../backend/kernels/blas-addon';
import { filledHostTensors, hostMemoryBackend, hostView } from '../backend/host-view';

const addon = blasAddon().addon;

/**
 * Sum over rows with a target >= 0 of logsumexp(row) - row[target], in double; with a non-empty
 * `grad`, also (softmax(row) - onehot(target)) * scale into it, zeros for rows without a target.
 * On the native addon where it is built, else jsCrossEntropyRows.
 */
export function crossEntropyRows(
  x: Float32Array,
  columns: number,
  targets: Int32Array,
  scale: number,
  grad: Float32Array,
): number {
  if (addon !== undefined) return addon.crossEntropy(x, targets.length, columns, targets, scale, grad);
  return jsCrossEntropyRows(x, columns, targets, scale, grad);
}

/** crossEntropyRows in JavaScript. */
export function jsCrossEntropyRows(
  x: Float32Array,
  columns: number,
  targets: Int32Array,
  scale: number,
  grad: Float32Array,
): number {
  let loss = 0;
  for (let r = 0; r < targets.length; r++) {
    const target = targets[r];
    const at = r * columns;
    if (target < 0) {
      if (grad.length > 0) grad.fill(0, at, at + columns);
      continue;
    }
    let max = -Infinity;
    for (let j = 0; j < columns; j++) if (x[at + j] > max) max = x[at + j];
    let total = 0;
    for (let j = 0; j < columns; j++) total += Math.exp(x[at + j] - max);
    loss += max + Math.log(total) - x[at + target];
    if (grad.length > 0) {
      for (let j = 0; j < columns; j++) grad[at + j] = (Math.exp(x[at + j] - max) / total) * scale;
      grad[at + target] = (Math.exp(x[at + target] - max) / total - 1) * scale;
    }
  }
  return loss;
}

/**
 * Mean cross-entropy of logits [rows, vocab] against `targets` (-1: the row does not count) over
 * `counted` rows, as one operation with its own gradient, softmax - onehot: tfjs's log-softmax,
 * gather and their gradients make and keep about ten vocabulary-sized tensors per batch; this
 * keeps none besides the logits and the gradient. On backends whose tensors are in host memory
 * (wasm, cpu); elsewhere undefined, and the caller composes the loss from tfjs operations.
 */
export function fusedCrossEntropy(logits: tf.Tensor2D, targets: Int32Array, counted: number): tf.Scalar | undefined {
  if (!hostMemoryBackend()) return undefined;
  const [rows, vocab] = logits.shape;
  if (targets.length !== rows) throw new Error(`cross-entropy: ${targets.length} targets for ${rows} rows`);
  const loss = tf.customGrad(((x: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([x]);
    const total = crossEntropyRows(hostView(x), vocab, targets, 0, new Float32Array(0));
    return {
      value: tf.scalar(total / counted),
      gradFunc: (dy: tf.Scalar, [saved]: tf.Tensor[]) => {
        // Read dy before taking a view of the logits: nothing may allocate while the view is held.
        const scale = dy.dataSync()[0] / counted;
        const [grad] = filledHostTensors([[rows, vocab]], ([out]) =>
          crossEntropyRows(hostView(saved), vocab, targets, scale, out),
        );
        return grad;
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor2D) => tf.Scalar;
  return loss(logits);
}

/** The same loss from tfjs operations, for backends whose tensors are not in host memory (a GPU's). */
export function composedCrossEntropy(logits: tf.Tensor2D, targets: Int32Array, counted: number): tf.Scalar {
  const vocab = logits.shape[1];
  // Each row's target log-probability by flat index (no one-hot of the vocabulary).
  const flatIndex = tf.tensor1d(
    Array.from(targets, (target, row) => row * vocab + Math.max(target, 0)),
    'int32',
  );
  const weights = tf.tensor1d(Array.from(targets, (target) => (target >= 0 ? 1 : 0)));
  const picked = tf.gather(tf.reshape(tf.logSoftmax(logits), [-1]), flatIndex);
  return tf.div(tf.neg(tf.sum(tf.mul(picked, weights))), counted);
}
