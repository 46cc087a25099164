import { hostView } from '../backend/host-view';
import { blasAddon, type BlasAddon } from '../backend/kernels/blas-addon';
import type { Embedding } from '../nn/embedding';
import { addInPlace } from '../nn/host-add';
import { hostSelfAttention, type HostSequence } from '../nn/host-attention';
import type { HostLinear } from '../nn/host-linear';
import type { LayerNorm } from '../nn/norms';
import type { Scoring, ScoringBatch } from './scoring';

/** An encoder layer's host form: its projections at their active widths and its norms. */
export interface BertHostLayer {
  query: HostLinear;
  key: HostLinear;
  value: HostLinear;
  attentionOutput: HostLinear;
  attentionNorm: LayerNorm;
  intermediate: HostLinear;
  output: HostLinear;
  outputNorm: LayerNorm;
}

export interface BertHostParts {
  /** The sizes host scoring reads of a BertConfig. */
  config: {
    hiddenSize: number;
    headDim: number;
    vocabSize: number;
    typeVocabSize: number;
    maxPositions: number;
    hiddenAct: 'gelu' | 'gelu_new';
  };
  embeddings: { word: Embedding; position: Embedding; tokenType: Embedding; norm: LayerNorm };
  layers: BertHostLayer[];
  pooler: HostLinear;
  classifier: HostLinear;
}

/** A batch's rows packed without their padding: which positions each row keeps. */
interface PackedBatch {
  sequences: HostSequence[];
  /** Per packed token, its row and position in the batch. */
  tokens: Array<{ row: number; position: number }>;
}

/**
 * The positions of each row the logits depend on: the real tokens, and the first, which the
 * pooler reads even where it is padding. Padding keys get no attention weight (the tfjs bias
 * adds MASKED, whose exp is 0), so padding is only needed as a query, and only there. A row
 * without real tokens keeps all: the tfjs forward attends uniformly over them.
 */
function pack(mask: number[][]): PackedBatch {
  const packed: PackedBatch = { sequences: [], tokens: [] };
  mask.forEach((row, r) => {
    const empty = row.every((m) => m === 0);
    const positions = row.flatMap((m, t) => (empty || m !== 0 || t === 0 ? [t] : []));
    packed.sequences.push({
      start: packed.tokens.length,
      length: positions.length,
      keys: positions.map((t) => row[t] !== 0),
    });
    packed.tokens.push(...positions.map((position) => ({ row: r, position })));
  });
  return packed;
}

/**
 * BERT's sequence classification forward in evaluation mode on host arrays, the same arithmetic
 * as `BertForSequenceClassification.forward` step for step: weights read in place (see
 * hostView), products on OpenBLAS, norms, GELU and attention on the forwards of the fused
 * operations the tfjs forward itself runs on this backend. Each row is computed
 * without its padding, which the tfjs forward computes and then masks.
 */
export class BertHostScoring implements Scoring {
  /** Norms, GELU and attention run on the fused operations' native forwards. */
  private readonly addon: BlasAddon;

  constructor(private readonly parts: BertHostParts) {
    const addon = blasAddon().addon;
    if (addon === undefined) throw new Error('bert host scoring: needs the native addon');
    this.addon = addon;
  }

  async logits(batch: ScoringBatch): Promise<Float32Array> {
    const { config, layers, pooler, classifier } = this.parts;
    const rows = batch.inputIds.length;
    const time = batch.inputIds[0]?.length ?? 0;
    const tables = [batch.inputIds, batch.attentionMask, batch.tokenTypeIds];
    if (tables.some((table) => table.length !== rows || table.some((row) => row.length !== time))) {
      throw new Error(`bert host scoring: input ids, attention mask and token types must all be ${rows} x ${time}`);
    }
    if (time > config.maxPositions) {
      throw new Error(`bert: ${time} tokens exceed max_position_embeddings ${config.maxPositions}`);
    }
    const packed = pack(batch.attentionMask);
    const slots = packed.tokens.length;
    const tanh = config.hiddenAct === 'gelu_new';
    let h = this.embed(batch, packed);
    for (const layer of layers) {
      const [q, k, v] = [layer.query, layer.key, layer.value].map((projection) => projection.apply(h, slots));
      const attended = layer.attentionOutput.apply(hostSelfAttention(q, k, v, config.headDim, packed.sequences), slots);
      addInPlace(attended, h);
      this.normInPlace(attended, layer.attentionNorm);
      const inner = layer.intermediate.apply(attended, slots);
      this.addon.gelu(inner, tanh, inner);
      h = layer.output.apply(inner, slots);
      addInPlace(h, attended);
      this.normInPlace(h, layer.outputNorm);
    }
    // The pooler reads each row's first position, its first packed token.
    const hidden = config.hiddenSize;
    const first = new Float32Array(rows * hidden);
    packed.sequences.forEach(({ start }, r) => first.set(h.subarray(start * hidden, (start + 1) * hidden), r * hidden));
    const pooled = pooler.apply(first, rows);
    for (let i = 0; i < pooled.length; i++) pooled[i] = Math.tanh(pooled[i]);
    return classifier.apply(pooled, rows);
  }

  /** Word + position + token type embeddings of the packed tokens, then LayerNorm: [tokens, hidden]. */
  private embed(batch: ScoringBatch, packed: PackedBatch): Float32Array {
    const { config, embeddings } = this.parts;
    const hidden = config.hiddenSize;
    const [word, position, tokenType] = [embeddings.word, embeddings.position, embeddings.tokenType].map((e) =>
      hostView(e.weight),
    );
    const h = new Float32Array(packed.tokens.length * hidden);
    packed.tokens.forEach(({ row, position: t }, slot) => {
      const [id, type] = [batch.inputIds[row][t], batch.tokenTypeIds[row][t]];
      checkId('token id', id, config.vocabSize, 'the vocabulary');
      checkId('token type id', type, config.typeVocabSize, 'type_vocab_size');
      for (let j = 0; j < hidden; j++) {
        h[slot * hidden + j] = word[id * hidden + j] + position[t * hidden + j] + tokenType[type * hidden + j];
      }
    });
    this.normInPlace(h, embeddings.norm);
    return h;
  }

  /** LayerNorm over each row of x [rows, hidden], in place. */
  private normInPlace(x: Float32Array, norm: LayerNorm): void {
    this.addon.layerNorm(x, this.parts.config.hiddenSize, hostView(norm.weight), hostView(norm.bias), norm.eps, x);
  }
}

function checkId(name: string, id: number, count: number, table: string): void {
  if (!Number.isInteger(id) || id < 0 || id >= count) {
    throw new Error(`bert: ${name} ${id} is outside ${table} [0, ${count})`);
  }
}
