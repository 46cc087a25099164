import * as tf from '@tensorflow/tfjs-core';

const { ERF_P: p, ERF_A1: a1, ERF_A2: a2, ERF_A3: a3, ERF_A4: a4, ERF_A5: a5 } = tf.backend_util;

/**
 * GELU with the erf form (BERT's `gelu`), in place: x / 2 (1 + erf(x / sqrt 2)). JavaScript has
 * no Math.erf: erf is the polynomial tfjs's cpu Erf kernel uses (Abramowitz and Stegun 7.1.26,
 * absolute error under 1.5e-7, below float32's resolution of the output), written into the loop.
 */
export function hostGeluInPlace(x: Float32Array): void {
  for (let i = 0; i < x.length; i++) {
    const v = Math.abs(x[i]) * Math.SQRT1_2;
    const t = 1 / (1 + p * v);
    const erf = 1 - ((((a5 * t + a4) * t + a3) * t + a2) * t + a1) * t * Math.exp(-v * v);
    x[i] = x[i] * 0.5 * (1 + (x[i] < 0 ? -erf : erf));
  }
}

/** GELU with the tanh approximation (HF `gelu_new`), in place, as `geluTanh` computes it. */
export function hostGeluTanhInPlace(x: Float32Array): void {
  for (let i = 0; i < x.length; i++) {
    const inner = x[i] * 0.7978845608028654 * (1 + 0.044715 * x[i] * x[i]);
    x[i] = x[i] * 0.5 * (1 + Math.tanh(inner));
  }
}
