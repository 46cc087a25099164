import { hostGemm, type MatrixBlock } from '../backend/host-gemm';

/** One sequence of a packed batch: its `length` token rows from `start`, and which are keys. */
export interface HostSequence {
  start: number;
  length: number;
  /** Per token, whether others attend to it (false for padding). */
  keys: boolean[];
}

const block = (data: Float32Array, offset: number, stride: number): MatrixBlock => ({ data, offset, stride });

/**
 * Bidirectional self-attention on host arrays: softmax(q k^T / sqrt(headDim) + padding bias) v
 * within each sequence, for each head, as `scaledDotProductAttention` over a non-causal
 * `attentionBias` computes it. q, k, v and the result are [tokens, heads * headDim], the head
 * count following from the width. A sequence without keys attends uniformly, as an all-MASKED
 * bias softmaxes. Products go to hostGemm on strided blocks of the heads; the softmax sums in
 * double.
 */
export function hostSelfAttention(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  headDim: number,
  sequences: HostSequence[],
): Float32Array {
  const width = q.length / sequences.reduce((tokens, s) => tokens + s.length, 0);
  const heads = width / headDim;
  const scale = 1 / Math.sqrt(headDim);
  const out = new Float32Array(q.length);
  const longest = Math.max(...sequences.map((s) => s.length));
  const keysT = new Float32Array(headDim * longest);
  const scores = new Float32Array(longest * longest);
  for (const { start, length, keys } of sequences) {
    for (let head = 0; head < heads; head++) {
      const at = start * width + head * headDim;
      // hostGemm reads its right operand row by row, so this head's keys are laid out transposed.
      for (let s = 0; s < length; s++) {
        for (let j = 0; j < headDim; j++) keysT[j * length + s] = k[at + s * width + j];
      }
      hostGemm(length, length, headDim, block(q, at, width), block(keysT, 0, length), block(scores, 0, length));
      for (let t = 0; t < length; t++) softmaxRowInPlace(scores.subarray(t * length, (t + 1) * length), scale, keys);
      hostGemm(length, headDim, length, block(scores, 0, length), block(v, at, width), block(out, at, width));
    }
  }
  return out;
}

/** softmax(row * scale) over the keys, 0 elsewhere; uniform where there are none. */
function softmaxRowInPlace(row: Float32Array, scale: number, keys: boolean[]): void {
  let max = -Infinity;
  for (let s = 0; s < row.length; s++) if (keys[s]) max = Math.max(max, row[s] * scale);
  if (max === -Infinity) {
    row.fill(1 / row.length);
    return;
  }
  let total = 0;
  for (let s = 0; s < row.length; s++) {
    const weight = keys[s] ? Math.exp(row[s] * scale - max) : 0;
    row[s] = weight;
    total += weight;
  }
  for (let s = 0; s < row.length; s++) row[s] /= total;
}
