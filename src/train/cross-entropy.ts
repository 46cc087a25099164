import * as tf from '@tensorflow/tfjs-core';
import { blasAddon } from '../backend/kernels/blas-addon';
import { filledHostTensors, hostMemoryBackend, hostView } from '../backend/host-view';

const addon = blasAddon().addon;

/**
 * Sum over rows with a target >= 0 of logsumexp(row) - row[target], each such row's logsumexp
 * written to `logSumExp`. On the native addon where it is built (exp in float, summed in
 * double), else jsCrossEntropyRows.
 */
export function crossEntropyRows(
  x: Float32Array,
  columns: number,
  targets: Int32Array,
  logSumExp: Float64Array,
): number {
  if (addon !== undefined) return addon.crossEntropy(x, targets.length, columns, targets, logSumExp);
  return jsCrossEntropyRows(x, columns, targets, logSumExp);
}

/**
 * (softmax(row) - onehot(target)) * scale into `grad` from crossEntropyRows' logsumexps, one exp
 * per element; zeros for rows without a target. Native where built, else jsCrossEntropyGradient.
 */
export function crossEntropyGradient(
  x: Float32Array,
  columns: number,
  targets: Int32Array,
  logSumExp: Float64Array,
  scale: number,
  grad: Float32Array,
): void {
  if (addon !== undefined) addon.crossEntropyGrad(x, targets.length, columns, targets, logSumExp, scale, grad);
  else jsCrossEntropyGradient(x, columns, targets, logSumExp, scale, grad);
}

/** crossEntropyRows in JavaScript (in double). */
export function jsCrossEntropyRows(x: Float32Array, columns: number, targets: Int32Array, logSumExp: Float64Array) {
  let loss = 0;
  for (let r = 0; r < targets.length; r++) {
    if (targets[r] < 0) continue;
    const at = r * columns;
    let max = -Infinity;
    for (let j = 0; j < columns; j++) if (x[at + j] > max) max = x[at + j];
    let total = 0;
    for (let j = 0; j < columns; j++) total += Math.exp(x[at + j] - max);
    logSumExp[r] = max + Math.log(total);
    loss += logSumExp[r] - x[at + targets[r]];
  }
  return loss;
}

/** crossEntropyGradient in JavaScript. */
export function jsCrossEntropyGradient(
  x: Float32Array,
  columns: number,
  targets: Int32Array,
  logSumExp: Float64Array,
  scale: number,
  grad: Float32Array,
): void {
  for (let r = 0; r < targets.length; r++) {
    const [target, at] = [targets[r], r * columns];
    if (target < 0) {
      grad.fill(0, at, at + columns);
      continue;
    }
    for (let j = 0; j < columns; j++) grad[at + j] = Math.exp(x[at + j] - logSumExp[r]) * scale;
    grad[at + target] -= scale;
  }
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
    // Each row's logsumexp, kept for the gradient: one exp per logit there instead of two.
    const logSumExp = new Float64Array(rows);
    const total = crossEntropyRows(hostView(x), vocab, targets, logSumExp);
    return {
      value: tf.scalar(total / counted),
      gradFunc: (dy: tf.Scalar, [saved]: tf.Tensor[]) => {
        // Read dy before taking a view of the logits: nothing may allocate while the view is held.
        const scale = dy.dataSync()[0] / counted;
        const [grad] = filledHostTensors([[rows, vocab]], ([out]) =>
          crossEntropyGradient(hostView(saved), vocab, targets, logSumExp, scale, out),
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
