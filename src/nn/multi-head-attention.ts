import * as tf from '@tensorflow/tfjs-core';
import {
  attentionBias,
  attentionBiasValues,
  extendCache,
  mergeHeads,
  scaledDotProductAttention,
  splitHeads,
  type LayerCache,
} from './attention';
import { fusedAttention, fusedAttentionAvailable, type AttentionInputs } from './fused-attention';

/** What a model's forward attends with, the same for all its layers. */
export interface AttentionSetup {
  /** [batch, keys]: 1 real, 0 padding. */
  attentionMask?: tf.Tensor2D;
  batch: number;
  queryLength: number;
  /** Cached positions plus queryLength; queries are the last positions. */
  keyLength: number;
  causal: boolean;
  headDim: number;
  /** ALiBi (BLOOM): key k adds slopes[h] * (k's position among the real tokens) to head h's scores. */
  alibiSlopes?: number[];
  /** Whether layers extend a KV cache (generation). */
  caching: boolean;
  /** Dropout on the attention probabilities (training). */
  dropout?: (probabilities: tf.Tensor4D) => tf.Tensor4D;
}

/** One layer's attention: output [batch, queries, heads * headDim], and its extended cache where caching. */
export type Attend = (inputs: AttentionInputs, past?: LayerCache) => { output: tf.Tensor3D; cache?: LayerCache };

/**
 * Attention for a forward: the fused host operation where it runs (wasm and cpu with the native
 * addon, neither a cache nor dropout), else tfjs's composition (heads transposed, key/value heads
 * repeated for grouped-query attention), which every backend runs. Call inside the forward's tidy.
 */
export function multiHeadAttention(setup: AttentionSetup): Attend {
  const { attentionMask, batch, queryLength, keyLength, causal, headDim, alibiSlopes } = setup;
  if (fusedAttentionAvailable() && !setup.caching && setup.dropout === undefined) {
    const maskValues = attentionMask?.dataSync();
    const bias = {
      mask:
        causal || maskValues !== undefined
          ? attentionBiasValues(maskValues, batch, queryLength, keyLength, causal)
          : new Float32Array(0),
      slopes: Float32Array.from(alibiSlopes ?? []),
      keyPositions: alibiSlopes === undefined ? new Float32Array(0) : realPositions(maskValues, batch, keyLength),
    };
    return (inputs) => ({ output: fusedAttention(inputs, headDim, bias) });
  }
  let bias: tf.Tensor = attentionBias(attentionMask, batch, queryLength, keyLength, causal);
  if (alibiSlopes !== undefined) {
    const mask = attentionMask ?? tf.ones([batch, keyLength], 'int32');
    const positions = tf.cast(tf.mul(tf.sub(tf.cumsum(mask, 1), 1), mask), 'float32');
    const slopes = tf.tensor(alibiSlopes, [1, alibiSlopes.length, 1, 1]);
    bias = tf.add(bias, tf.mul(slopes, tf.reshape(positions, [batch, 1, 1, keyLength])));
  }
  return (inputs, past) => {
    const [q, newKeys, newValues] = splitInputs(inputs, headDim);
    let [k, v] = [newKeys, newValues];
    let cache: LayerCache | undefined;
    if (setup.caching) {
      cache = extendCache(past, k, v);
      ({ key: k, value: v } = cache);
    }
    const [heads, kvHeads] = [q.shape[1], k.shape[1]];
    if (kvHeads !== heads) {
      const kvHeadOfHead = tf.tensor1d(
        Array.from({ length: heads }, (_, h) => Math.floor(h / (heads / kvHeads))),
        'int32',
      );
      [k, v] = [tf.gather(k, kvHeadOfHead, 1), tf.gather(v, kvHeadOfHead, 1)];
    }
    const attention = scaledDotProductAttention(q, k, v, bias, 1 / Math.sqrt(headDim), setup.dropout);
    return { output: mergeHeads(attention), cache };
  };
}

/** Each key's position among its row's real tokens (padding at 0), as BLOOM's ALiBi counts. */
function realPositions(mask: ArrayLike<number> | undefined, batch: number, keys: number): Float32Array {
  const positions = new Float32Array(batch * keys);
  for (let b = 0; b < batch; b++) {
    let seen = 0;
    for (let k = 0; k < keys; k++) {
      const real = mask === undefined || mask[b * keys + k] !== 0;
      positions[b * keys + k] = real ? seen : 0;
      if (real) seen++;
    }
  }
  return positions;
}

/** q, k and v [batch, heads, time, headDim]. */
function splitInputs(inputs: AttentionInputs, headDim: number): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D] {
  if (!('qkv' in inputs))
    return [splitHeads(inputs.q, headDim), splitHeads(inputs.k, headDim), splitHeads(inputs.v, headDim)];
  const [batch, time, width] = inputs.qkv.shape;
  const heads = width / (3 * headDim);
  const perHead = tf.transpose(tf.reshape(inputs.qkv, [batch, time, heads, 3, headDim]), [3, 0, 2, 1, 4]);
  return tf.unstack(perHead) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
}
