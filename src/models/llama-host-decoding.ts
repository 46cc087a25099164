import type * as tf from '@tensorflow/tfjs-core';
import { hostView } from '../backend/host-view';
import { addInPlace } from '../nn/host-add';
import type { HostLinear } from '../nn/host-linear';
import { rotateHeads, type RotaryEmbedding } from '../nn/rotary';
import type { Decoding, DecodeStep } from './decoding';

/** A decoder layer's host form: norm weights and projections at their active widths. */
export interface LlamaHostLayer {
  inputNorm: tf.Tensor1D;
  postAttentionNorm: tf.Tensor1D;
  q: HostLinear;
  k: HostLinear;
  v: HostLinear;
  o: HostLinear;
  gate: HostLinear;
  up: HostLinear;
  down: HostLinear;
}

interface LlamaHostParts {
  /** The sizes host decoding reads of a LlamaConfig. */
  config: {
    layers: number;
    heads: number;
    kvHeads: number;
    headDim: number;
    hiddenSize: number;
    vocabSize: number;
    maxPositions: number;
    rmsNormEps: number;
  };
  embed: tf.Tensor2D;
  layers: LlamaHostLayer[];
  norm: tf.Tensor1D;
  lmHead: HostLinear;
  rotary: RotaryEmbedding;
}

/** x / sqrt(mean(x^2) + eps) * weight over each row of `x` [rows, width], in double. */
function rmsNorm(x: Float32Array, rows: number, weight: Float32Array, eps: number): Float32Array {
  const width = weight.length;
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    const at = r * width;
    let sum = 0;
    for (let j = 0; j < width; j++) sum += x[at + j] * x[at + j];
    const scale = 1 / Math.sqrt(sum / width + eps);
    for (let j = 0; j < width; j++) out[at + j] = x[at + j] * scale * weight[j];
  }
  return out;
}

/**
 * LLaMA's forward for generation on host arrays, the same arithmetic as `LlamaForCausalLM.forward`
 * step for step: the weights are read in place (see hostView), the key/value cache is written in
 * place in preallocated arrays, and matrix products go to OpenBLAS when its addon is built. At
 * generation's shapes (one new token a row) tfjs spends more on calling hundreds of small kernels
 * a token than on arithmetic; here a token costs its arithmetic.
 */
export class LlamaHostDecoding implements Decoding {
  private readonly group: number;
  /** Per layer, keys and values [maxRows, kvHeads, capacity, headDim]. */
  private keys: Float32Array[];
  private values: Float32Array[];
  /** Where reorder copies to, then swaps with keys and values; made on the first reorder. */
  private spareKeys: Float32Array[] = [];
  private spareValues: Float32Array[] = [];
  /** Positions fed so far. */
  private filled = 0;
  /** Rows in use: those of the first step, then as many as the last reorder named. */
  private live: number | undefined;

  constructor(
    private readonly parts: LlamaHostParts,
    private readonly maxRows: number,
    private readonly capacity: number,
  ) {
    this.group = parts.config.heads / parts.config.kvHeads;
    [this.keys, this.values] = [this.cache(), this.cache()];
  }

  private cache(): Float32Array[] {
    const { layers, kvHeads, headDim } = this.parts.config;
    return Array.from({ length: layers }, () => new Float32Array(this.maxRows * kvHeads * this.capacity * headDim));
  }

  async next(step: DecodeStep): Promise<Float32Array> {
    const { config, layers } = this.parts;
    const { hiddenSize: hidden, vocabSize: vocab, rmsNormEps: eps } = config;
    const rows = step.tokens.length;
    const time = step.tokens[0].length;
    if (rows !== (this.live ?? rows) || rows > this.maxRows || this.filled + time > this.capacity) {
      throw new Error(
        `llama host decoding: a step of ${rows} rows x ${time} tokens after ${this.filled} does not fit ` +
          `${this.live ?? this.maxRows} rows x ${this.capacity} positions`,
      );
    }
    if (step.mask.some((row) => row.length !== this.filled + time)) {
      throw new Error(`llama host decoding: the mask must cover the ${this.filled + time} positions fed so far`);
    }
    this.live = rows;
    const slots = rows * time;
    let h = this.embed(step.tokens, slots);
    layers.forEach((layer, i) => {
      const x = rmsNorm(h, slots, hostView(layer.inputNorm), eps);
      const q = this.rotate(layer.q.apply(x, slots), step.positions, config.heads);
      const k = this.rotate(layer.k.apply(x, slots), step.positions, config.kvHeads);
      this.store(this.keys[i], k, time);
      this.store(this.values[i], layer.v.apply(x, slots), time);
      const context = this.attend(q, i, step.mask, time);
      addInPlace(h, layer.o.apply(context, slots));
      const y = rmsNorm(h, slots, hostView(layer.postAttentionNorm), eps);
      const gate = layer.gate.apply(y, slots);
      const up = layer.up.apply(y, slots);
      for (let j = 0; j < gate.length; j++) gate[j] = (gate[j] / (1 + Math.exp(-gate[j]))) * up[j];
      addInPlace(h, layer.down.apply(gate, slots));
    });
    this.filled += time;
    // The last position of each row only.
    const last = new Float32Array(rows * hidden);
    for (let r = 0; r < rows; r++)
      last.set(h.subarray(((r + 1) * time - 1) * hidden, (r + 1) * time * hidden), r * hidden);
    h = rmsNorm(last, rows, hostView(this.parts.norm), eps);
    const logits = this.parts.lmHead.apply(h, rows);
    for (let r = 0; r < rows; r++) logSoftmaxInPlace(logits.subarray(r * vocab, (r + 1) * vocab));
    return logits;
  }

  reorder(order: number[]): void {
    if (order.length > this.maxRows || order.some((row) => row >= (this.live ?? 0))) {
      throw new Error(`llama host decoding: cannot reorder ${this.live ?? 0} rows by [${order.join(', ')}]`);
    }
    this.live = order.length;
    if (this.spareKeys.length === 0) [this.spareKeys, this.spareValues] = [this.cache(), this.cache()];
    const { kvHeads, headDim } = this.parts.config;
    const rowSize = kvHeads * this.capacity * headDim;
    const used = this.filled * headDim;
    for (let i = 0; i < this.keys.length; i++) {
      for (const [from, to] of [
        [this.keys[i], this.spareKeys[i]],
        [this.values[i], this.spareValues[i]],
      ]) {
        order.forEach((source, r) => {
          for (let g = 0; g < kvHeads; g++) {
            const at = g * this.capacity * headDim;
            to.set(from.subarray(source * rowSize + at, source * rowSize + at + used), r * rowSize + at);
          }
        });
      }
    }
    [this.keys, this.spareKeys] = [this.spareKeys, this.keys];
    [this.values, this.spareValues] = [this.spareValues, this.values];
  }

  dispose(): void {
    this.keys = this.values = this.spareKeys = this.spareValues = [];
  }

  private embed(tokens: number[][], slots: number): Float32Array {
    const { hiddenSize: hidden, vocabSize: vocab } = this.parts.config;
    const table = hostView(this.parts.embed);
    const h = new Float32Array(slots * hidden);
    tokens.flat().forEach((token, slot) => {
      if (!Number.isInteger(token) || token < 0 || token >= vocab) {
        throw new Error(`llama: token id ${token} is outside the vocabulary [0, ${vocab})`);
      }
      h.set(table.subarray(token * hidden, (token + 1) * hidden), slot * hidden);
    });
    return h;
  }

  /** Rotates each head of `x` [rows * time, heads * headDim] by its slot's position, in place. */
  private rotate(x: Float32Array, positions: number[][], heads: number): Float32Array {
    const { headDim, maxPositions } = this.parts.config;
    const slots = Int32Array.from(positions.flat());
    if (slots.some((position) => position < 0 || position >= maxPositions)) {
      throw new Error(`rotary: a position is outside [0, ${maxPositions}) (max_position_embeddings)`);
    }
    rotateHeads(this.parts.rotary, x, slots, heads * headDim, 1, x);
    return x;
  }

  /** Writes this step's keys or values [rows * time, kvHeads * headDim] after the filled positions. */
  private store(cache: Float32Array, x: Float32Array, time: number): void {
    const { kvHeads, headDim } = this.parts.config;
    for (let r = 0; r < (this.live ?? 0); r++) {
      for (let t = 0; t < time; t++) {
        for (let g = 0; g < kvHeads; g++) {
          const from = ((r * time + t) * kvHeads + g) * headDim;
          const to = ((r * kvHeads + g) * this.capacity + this.filled + t) * headDim;
          cache.set(x.subarray(from, from + headDim), to);
        }
      }
    }
  }

  /**
   * softmax(q k^T / sqrt(headDim)) v per head over the keys a query may see: earlier or its own
   * positions that the mask marks real. A query that sees none (padding) gets zeros; nothing reads it.
   */
  private attend(q: Float32Array, layer: number, mask: number[][], time: number): Float32Array {
    const { heads, kvHeads, headDim } = this.parts.config;
    const [keys, values] = [this.keys[layer], this.values[layer]];
    const scale = 1 / Math.sqrt(headDim);
    const rows = this.live ?? 0;
    const out = new Float32Array(rows * time * heads * headDim);
    const weights = new Float64Array(this.filled + time);
    const sum = new Float64Array(headDim);
    for (let r = 0; r < rows; r++) {
      const visible = mask[r];
      for (let t = 0; t < time; t++) {
        const seen = this.filled + t + 1;
        for (let head = 0; head < heads; head++) {
          const g = Math.floor(head / this.group);
          const base = (r * kvHeads + g) * this.capacity * headDim;
          const qAt = ((r * time + t) * heads + head) * headDim;
          let max = -Infinity;
          for (let s = 0; s < seen; s++) {
            if (visible[s] !== 1) continue;
            let dot = 0;
            for (let j = 0; j < headDim; j++) dot += q[qAt + j] * keys[base + s * headDim + j];
            weights[s] = dot * scale;
            if (weights[s] > max) max = weights[s];
          }
          if (max === -Infinity) continue;
          let total = 0;
          sum.fill(0);
          for (let s = 0; s < seen; s++) {
            if (visible[s] !== 1) continue;
            const w = Math.exp(weights[s] - max);
            total += w;
            for (let j = 0; j < headDim; j++) sum[j] += w * values[base + s * headDim + j];
          }
          for (let j = 0; j < headDim; j++) out[qAt + j] = sum[j] / total;
        }
      }
    }
    return out;
  }
}

function logSoftmaxInPlace(row: Float32Array): void {
  let max = -Infinity;
  for (const value of row) if (value > max) max = value;
  let total = 0;
  for (const value of row) total += Math.exp(value - max);
  const shift = max + Math.log(total);
  for (let i = 0; i < row.length; i++) row[i] -= shift;
}
