import * as tf from '@tensorflow/tfjs-core';
import { composedCrossEntropy, fusedCrossEntropy } from './cross-entropy';

/** Labels that take no part in the loss (padding, and the prompt when train_on_inputs is off). */
export const IGNORE_INDEX = -100;

/**
 * Causal language-modelling cross-entropy: logits [batch, time, vocab] at position t predict
 * labels[t + 1]; positions labelled IGNORE_INDEX are left out; the mean is over counted tokens.
 */
export function causalLmLoss(logits: tf.Tensor3D, labels: number[][]): tf.Scalar {
  const [batch, time, vocab] = logits.shape;
  // Row (b, t) predicts labels[b][t + 1]; the last position predicts nothing.
  const targets = new Int32Array(batch * time).fill(-1);
  let counted = 0;
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < time - 1; t++) {
      const label = labels[b][t + 1];
      if (label === IGNORE_INDEX) continue;
      if (!Number.isInteger(label) || label < 0 || label >= vocab) {
        throw new Error(`causalLmLoss: label ${label} at [${b}, ${t + 1}] is outside the vocabulary [0, ${vocab})`);
      }
      targets[b * time + t] = label;
      counted++;
    }
  }
  if (counted === 0) throw new Error('causalLmLoss: every label is ignored');
  return tf.tidy(() => {
    const rows = tf.reshape(logits, [batch * time, vocab]) as tf.Tensor2D;
    return fusedCrossEntropy(rows, targets, counted) ?? composedCrossEntropy(rows, targets, counted);
  });
}
