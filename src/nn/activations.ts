import * as tf from '@tensorflow/tfjs-core';

/** GELU with the exact erf form (BERT's `gelu`). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))));
}

/** GELU with the tanh approximation (BLOOM's `bloom_gelu_forward`, HF `gelu_new`). */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inner = tf.mul(tf.mul(x, 0.7978845608028654), tf.add(1, tf.mul(0.044715, tf.square(x))));
    return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner)));
  });
}

/** SiLU (swish): x * sigmoid(x). */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}
