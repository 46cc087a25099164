import * as tf from '@tensorflow/tfjs-core';

/** Labels that take no part in the loss (padding, and the prompt when train_on_inputs is off). */
export const IGNORE_INDEX = -100;

/**
 * Causal language-modelling cross-entropy: logits [batch, time, vocab] at position t predict
 * labels[t + 1]; positions labelled IGNORE_INDEX are left out; the mean is over counted tokens.
 */
export function causalLmLoss(logits: tf.Tensor3D, labels: number[][]): tf.Scalar {
  const [batch, time, vocab] = logits.shape;
  const targets: number[] = [];
  const weights: number[] = [];
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < time - 1; t++) {
      const label = labels[b][t + 1];
      targets.push(label === IGNORE_INDEX ? 0 : label);
      weights.push(label === IGNORE_INDEX ? 0 : 1);
    }
  }
  const counted = weights.reduce((a, b) => a + b, 0);
  if (counted === 0) throw new Error('causalLmLoss: every label is ignored');
  return tf.tidy(() => {
    const shifted = tf.reshape(tf.slice(logits, [0, 0, 0], [batch, time - 1, vocab]), [-1, vocab]);
    // Pick each row's target log-probability by flat index (no one-hot of the vocabulary).
    const flatIndex = tf.tensor1d(
      targets.map((target, row) => row * vocab + target),
      'int32',
    );
    const picked = tf.gather(tf.reshape(tf.logSoftmax(shifted), [-1]), flatIndex);
    return tf.div(tf.neg(tf.sum(tf.mul(picked, tf.tensor1d(weights)))), counted) as tf.Scalar;
  });
}
