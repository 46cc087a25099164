import * as tf from '@tensorflow/tfjs-core';
import { hostMemoryBackend } from '../backend/host-view';

/** Keys and values a layer has seen so far, [batch, heads, time, headDim] each. */
export interface LayerCache {
  key: tf.Tensor4D;
  value: tf.Tensor4D;
}

/** One entry per layer. */
export type KVCache = LayerCache[];

export function disposeCache(cache: KVCache | undefined): void {
  for (const layer of cache ?? []) tf.dispose([layer.key, layer.value]);
}

/** A large negative stand-in for -inf: a fully masked row softmaxes to uniform instead of NaN. */
export const MASKED = -1e9;

/**
 * The additive attention bias [batch, 1, queries, keys]: 0 where a query may attend to a key,
 * MASKED elsewhere. Queries are the last `queryLength` of the `keyLength` positions; `causal`
 * hides later keys, `attentionMask` [batch, keys] (1 real, 0 padding) hides padding. Built on the
 * host: it needs no gradient, and broadcast boolean kernels are slow on wasm.
 */
export function attentionBias(
  attentionMask: tf.Tensor2D | undefined,
  batch: number,
  queryLength: number,
  keyLength: number,
  causal: boolean,
): tf.Tensor4D {
  if (!hostMemoryBackend() && attentionMask !== undefined) {
    // A GPU's mask is not read back: the causal part is built here, the padding part on the device.
    return tf.tidy(() => {
      const padding = tf.mul(
        tf.sub(1, tf.cast(tf.reshape(attentionMask, [batch, 1, 1, keyLength]), 'float32')),
        MASKED,
      );
      return tf.minimum(attentionBias(undefined, 1, queryLength, keyLength, causal), padding) as tf.Tensor4D;
    });
  }
  const values = attentionBiasValues(attentionMask?.dataSync(), batch, queryLength, keyLength, causal);
  return tf.tensor4d(values, [batch, 1, queryLength, keyLength]);
}

/** attentionBias's values [batch, queries, keys] on the host, from the mask's values (1 real, 0 padding). */
export function attentionBiasValues(
  mask: ArrayLike<number> | undefined,
  batch: number,
  queryLength: number,
  keyLength: number,
  causal: boolean,
): Float32Array {
  const past = keyLength - queryLength;
  const values = new Float32Array(batch * queryLength * keyLength);
  for (let b = 0; b < batch; b++) {
    for (let q = 0; q < queryLength; q++) {
      const row = (b * queryLength + q) * keyLength;
      for (let k = 0; k < keyLength; k++) {
        const hidden = (causal && k > q + past) || (mask !== undefined && mask[b * keyLength + k] === 0);
        if (hidden) values[row + k] = MASKED;
      }
    }
  }
  return values;
}

/**
 * [batch, time, heads * headDim] -> [batch, heads, time, headDim]. The head count follows from
 * the width, so a projection sliced to fewer heads (elastic attention) splits the same way.
 */
export function splitHeads(x: tf.Tensor, headDim: number): tf.Tensor4D {
  const [batch, time, width] = x.shape;
  return tf.transpose(tf.reshape(x, [batch, time, width / headDim, headDim]), [0, 2, 1, 3]);
}

/** [batch, heads, time, headDim] -> [batch, time, heads * headDim]. */
export function mergeHeads(x: tf.Tensor): tf.Tensor3D {
  const [batch, heads, time, headDim] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [batch, time, heads * headDim]);
}

/**
 * softmax(q k^T * scale + bias) v, for q [b, h, tq, d], k and v [b, h, tk, d]; `dropout`, where
 * given, applies to the probabilities (training).
 */
export function scaledDotProductAttention(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  bias: tf.Tensor,
  scale: number,
  dropout?: (probabilities: tf.Tensor4D) => tf.Tensor4D,
): tf.Tensor4D {
  return tf.tidy(() => {
    const probabilities = tf.softmax(tf.add(tf.mul(tf.matMul(q, k, false, true), scale), bias)) as tf.Tensor4D;
    return tf.matMul(dropout?.(probabilities) ?? probabilities, v) as tf.Tensor4D;
  });
}

/** Appends this step's keys and values to a layer's cache (the caller disposes the old cache). */
export function extendCache(past: LayerCache | undefined, key: tf.Tensor4D, value: tf.Tensor4D): LayerCache {
  if (past === undefined) return { key, value };
  return { key: tf.concat([past.key, key], 2), value: tf.concat([past.value, value], 2) };
}
