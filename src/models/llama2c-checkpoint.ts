import * as fs from 'fs';
import { CheckpointError } from './weights';
import { MemorySource } from './memory-source';

/**
 * llama2.c checkpoints (the legacy "version 0" export): seven int32 header fields
 * (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len), then float32 weights in
 * the order token embedding, attention norms, wq, wk, wv, wo, MLP norms, w1, w2, w3, final norm,
 * the RoPE tables, and a classifier only when vocab_size is negative (positive: shared with the
 * embedding). Weights are renamed to Hugging Face's LLaMA names; wq and wk are permuted from
 * llama2.c's interleaved rotary pairs to Hugging Face's half-split layout, as HF's own converter does.
 */

const HEADER_INTS = 7;

export interface Llama2cCheckpoint {
  /** The configuration as a Hugging Face config.json writes it. */
  configJson: Record<string, unknown>;
  weights: MemorySource;
}

/** Rows of one head go from pairs (2j, 2j + 1) to halves (j, j + headDim / 2). */
function interleavedToHalves(weight: Float32Array, heads: number, columns: number): Float32Array {
  const rows = weight.length / columns;
  const headDim = rows / heads;
  const half = headDim / 2;
  const out = new Float32Array(weight.length);
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < half; j++) {
      for (const c of [0, 1]) {
        const from = (h * headDim + 2 * j + c) * columns;
        const to = (h * headDim + c * half + j) * columns;
        out.set(weight.subarray(from, from + columns), to);
      }
    }
  }
  return out;
}

export function readLlama2cCheckpoint(path: string): Llama2cCheckpoint {
  if (!fs.existsSync(path)) throw new CheckpointError(`${path}: no such llama2.c checkpoint`);
  const bytes = fs.readFileSync(path);
  if (bytes.length < HEADER_INTS * 4) throw new CheckpointError(`${path}: too short for a llama2.c header`);
  const header = Array.from({ length: HEADER_INTS }, (_, i) => bytes.readInt32LE(4 * i));
  const [dim, hidden, layers, heads, kvHeads, signedVocab, seqLen] = header;
  const vocab = Math.abs(signedVocab);
  const shared = signedVocab > 0;
  if (
    [dim, hidden, layers, heads, kvHeads, vocab, seqLen].some((v) => v <= 0) ||
    dim % heads !== 0 ||
    heads % kvHeads !== 0
  ) {
    throw new CheckpointError(
      `${path}: header [dim ${dim}, hidden_dim ${hidden}, n_layers ${layers}, n_heads ${heads}, ` +
        `n_kv_heads ${kvHeads}, vocab_size ${signedVocab}, seq_len ${seqLen}] is not a llama2.c model`,
    );
  }
  const headDim = dim / heads;
  const kvDim = kvHeads * headDim;
  const layout: Array<[string, number[]]> = [
    ['tok_embeddings', [vocab, dim]],
    ['rms_att', [layers, dim]],
    ['wq', [layers, dim, dim]],
    ['wk', [layers, kvDim, dim]],
    ['wv', [layers, kvDim, dim]],
    ['wo', [layers, dim, dim]],
    ['rms_ffn', [layers, dim]],
    ['w1', [layers, hidden, dim]],
    ['w2', [layers, dim, hidden]],
    ['w3', [layers, hidden, dim]],
    ['rms_final', [dim]],
    ['freq_cis_real', [seqLen, headDim / 2]],
    ['freq_cis_imag', [seqLen, headDim / 2]],
    ...(shared ? [] : [['wcls', [vocab, dim]] as [string, number[]]]),
  ];
  const floats = layout.reduce((sum, [, shape]) => sum + shape.reduce((a, b) => a * b, 1), 0);
  const expectedBytes = HEADER_INTS * 4 + floats * 4;
  if (bytes.length !== expectedBytes) {
    throw new CheckpointError(`${path}: ${bytes.length} bytes, but its header implies ${expectedBytes}`);
  }
  const all = new Float32Array(floats);
  new Uint8Array(all.buffer).set(bytes.subarray(HEADER_INTS * 4));
  const parts = new Map<string, Float32Array>();
  let offset = 0;
  for (const [name, shape] of layout) {
    const size = shape.reduce((a, b) => a * b, 1);
    parts.set(name, all.subarray(offset, offset + size));
    offset += size;
  }
  const part = (name: string) => parts.get(name) as Float32Array;
  const layerSlice = (name: string, i: number, size: number) => part(name).subarray(i * size, (i + 1) * size);

  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  tensors.set('model.embed_tokens.weight', { shape: [vocab, dim], data: part('tok_embeddings') });
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}`;
    tensors.set(`${p}.input_layernorm.weight`, { shape: [dim], data: layerSlice('rms_att', i, dim) });
    tensors.set(`${p}.self_attn.q_proj.weight`, {
      shape: [dim, dim],
      data: interleavedToHalves(layerSlice('wq', i, dim * dim), heads, dim),
    });
    tensors.set(`${p}.self_attn.k_proj.weight`, {
      shape: [kvDim, dim],
      data: interleavedToHalves(layerSlice('wk', i, kvDim * dim), kvHeads, dim),
    });
    tensors.set(`${p}.self_attn.v_proj.weight`, { shape: [kvDim, dim], data: layerSlice('wv', i, kvDim * dim) });
    tensors.set(`${p}.self_attn.o_proj.weight`, { shape: [dim, dim], data: layerSlice('wo', i, dim * dim) });
    tensors.set(`${p}.post_attention_layernorm.weight`, { shape: [dim], data: layerSlice('rms_ffn', i, dim) });
    tensors.set(`${p}.mlp.gate_proj.weight`, { shape: [hidden, dim], data: layerSlice('w1', i, hidden * dim) });
    tensors.set(`${p}.mlp.down_proj.weight`, { shape: [dim, hidden], data: layerSlice('w2', i, dim * hidden) });
    tensors.set(`${p}.mlp.up_proj.weight`, { shape: [hidden, dim], data: layerSlice('w3', i, hidden * dim) });
  }
  tensors.set('model.norm.weight', { shape: [dim], data: part('rms_final') });
  if (!shared) tensors.set('lm_head.weight', { shape: [vocab, dim], data: part('wcls') });

  const configJson = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: dim,
    intermediate_size: hidden,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    vocab_size: vocab,
    max_position_embeddings: seqLen,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: shared,
    bos_token_id: 1,
    // llama2.c's training data separates stories with BOS, so its sampler stops there as well as at EOS.
    eos_token_id: [2, 1],
  };
  return { configJson, weights: new MemorySource(path, tensors) };
}
