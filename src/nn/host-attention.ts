import { blasAddon } from '../backend/kernels/blas-addon';
import { MASKED } from './attention';

/** One sequence of a packed batch: its `length` token rows from `start`, and which are keys. */
export interface HostSequence {
  start: number;
  length: number;
  /** Per token, whether others attend to it (false for padding). */
  keys: boolean[];
}

const none = new Float32Array(0);

/**
 * Bidirectional self-attention on host arrays: softmax(q k^T / sqrt(headDim) + padding bias) v
 * within each sequence, for each head, as `scaledDotProductAttention` over a non-causal
 * `attentionBias` computes it. q, k, v and the result are [tokens, heads * headDim], the head
 * count following from the width. Each sequence is one call of the native attention (the fused
 * operation's forward, attention.cc), the bias only where a sequence has non-keys; a sequence
 * without keys attends uniformly, as an all-MASKED bias softmaxes. Needs the native addon.
 */
export function hostSelfAttention(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  headDim: number,
  sequences: HostSequence[],
): Float32Array {
  const addon = blasAddon().addon;
  if (addon === undefined) throw new Error('host attention: needs the native addon');
  const width = q.length / sequences.reduce((tokens, s) => tokens + s.length, 0);
  const heads = width / headDim;
  const out = new Float32Array(q.length);
  const view = (data: Float32Array, start: number) => ({
    data,
    offset: start * width,
    rowStride: width,
    headStride: headDim,
  });
  for (const { start, length, keys } of sequences) {
    const mask = keys.every((key) => key) ? none : new Float32Array(length * length);
    if (mask !== none) {
      for (let t = 0; t < length; t++) for (let s = 0; s < length; s++) if (!keys[s]) mask[t * length + s] = MASKED;
    }
    const shape = [1, heads, heads, length, length, headDim];
    addon.attention(
      shape,
      1 / Math.sqrt(headDim),
      view(q, start),
      view(k, start),
      view(v, start),
      mask,
      none,
      none,
      view(out, start),
    );
  }
  return out;
}
