import * as tf from '@tensorflow/tfjs-core';
import { blasAddon } from '../backend/kernels/blas-addon';
import { hostMemoryBackend, hostView } from '../backend/host-view';

const addon = blasAddon().addon;

/**
 * Sum over rows with a target >= 0 of logsumexp(row) - row[target], in double; with a non-empty
 * `grad`, also (softmax(row) - onehot(target)) * scale into it, zeros for rows without a target.
 * On the native addon where it is built, else jsCrossEntropyRows.
 */
function crossEntropyRows(
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

/** A float32 tensor's values: in place where the backend allows, else a copy. */
const values = (t: tf.Tensor) => (hostMemoryBackend() ? hostView(t) : (t.dataSync() as Float32Array));

export { crossEntropyRows };

/**
 * Mean cross-entropy of logits [rows, vocab] against `targets` (-1: the row does not count) over
 * `counted` rows, as one operation with its own gradient, softmax - onehot: tfjs's log-softmax,
 * gather and their gradients make and keep about ten vocabulary-sized tensors per batch; this
 * keeps none besides the logits and the gradient.
 */
export function fusedCrossEntropy(logits: tf.Tensor2D, targets: Int32Array, counted: number): tf.Scalar {
  const [rows, vocab] = logits.shape;
  if (targets.length !== rows) throw new Error(`cross-entropy: ${targets.length} targets for ${rows} rows`);
  const loss = tf.customGrad(((x: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([x]);
    const total = crossEntropyRows(values(x), vocab, targets, 0, new Float32Array(0));
    return {
      value: tf.scalar(total / counted),
      gradFunc: (dy: tf.Scalar, [saved]: tf.Tensor[]) => {
        const grad = new Float32Array(rows * vocab);
        crossEntropyRows(values(saved), vocab, targets, dy.dataSync()[0] / counted, grad);
        return tf.tensor2d(grad, [rows, vocab]);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor2D) => tf.Scalar;
  return loss(logits);
}
