import * as tf from '@tensorflow/tfjs-core';
import type { BlasAddon } from '../backend/kernels/blas-addon';
import { fusedAddon, hostFused } from './host-fused';

/**
 * GELU with the exact erf form (BERT's `gelu`). Where the native addon runs it, as one operation
 * with its derivative: tfjs's wasm Erf alone took about a tenth of a bert-tiny training step.
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  const addon = fusedAddon();
  if (addon !== undefined) return fusedGelu(addon, x, false);
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))));
}

/** GELU with the tanh approximation (BLOOM's `bloom_gelu_forward`, HF `gelu_new`); fused as gelu is. */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  const addon = fusedAddon();
  if (addon !== undefined) return fusedGelu(addon, x, true);
  return tf.tidy(() => {
    const inner = tf.mul(tf.mul(x, 0.7978845608028654), tf.add(1, tf.mul(0.044715, tf.square(x))));
    return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner)));
  });
}

function fusedGelu(addon: BlasAddon, x: tf.Tensor, tanh: boolean): tf.Tensor {
  return hostFused(
    [x],
    [],
    ([xs], out) => addon.gelu(xs, tanh, out),
    ([xs], dy, [dx]) => addon.geluGrad(xs, tanh, dy, dx),
  );
}

/** SiLU (swish): x * sigmoid(x). */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}

/** LLaMA's gated MLP activation silu(gate) * up; fused, with both gradients, where the addon runs it. */
export function swiglu(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
  const addon = fusedAddon();
  if (addon !== undefined) {
    return hostFused(
      [gate, up],
      [],
      ([g, u], out) => addon.swiglu(g, u, out),
      ([g, u], dy, [dGate, dUp]) => addon.swigluGrad(g, u, dy, dGate, dUp),
    );
  }
  return tf.tidy(() => tf.mul(silu(gate), up));
}
