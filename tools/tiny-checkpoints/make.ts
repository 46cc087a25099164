/**
 * Tiny random checkpoints in the real Hugging Face formats (config.json, model.safetensors,
 * tokenizer.json) for LLaMA, BLOOM and BERT, the same bytes on every machine for a given seed.
 *
 *   npx ts-node tools/tiny-checkpoints/make.ts <output-folder> [seed]
 *
 * writes <output-folder>/{llama,bloom,bert}/.
 */
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../../src/io/atomic-write';
import { writeSafetensors, type TensorToWrite } from '../../src/io/safetensors';
import { SeededRandom } from '../../src/util/seeded-random';
import { bertTokenizerJson, bloomTokenizerJson, llamaTokenizerJson, vocabularySize } from './tokenizers';

export const tinyFamilies = ['llama', 'bloom', 'bert'] as const;
export type TinyFamily = (typeof tinyFamilies)[number];

type Tensors = Record<string, TensorToWrite>;

/** Fills tensors by name in a fixed order: linear weights N(0, linearStd), biases N(0, 0.1), norms 1 + N(0, 0.1). */
class TensorMaker {
  readonly tensors: Tensors = {};

  constructor(
    private readonly random: SeededRandom,
    private readonly linearStd = 0.2,
  ) {}

  matrix(name: string, rows: number, columns: number, std = this.linearStd): void {
    this.tensors[name] = { shape: [rows, columns], data: this.random.normals(rows * columns, std) };
  }

  linear(path: string, inFeatures: number, outFeatures: number, bias: boolean): void {
    this.matrix(`${path}.weight`, outFeatures, inFeatures);
    if (bias) this.tensors[`${path}.bias`] = { shape: [outFeatures], data: this.random.normals(outFeatures, 0.1) };
  }

  norm(path: string, size: number, bias: boolean): void {
    this.tensors[`${path}.weight`] = { shape: [size], data: this.random.normals(size, 0.1, 1) };
    if (bias) this.tensors[`${path}.bias`] = { shape: [size], data: this.random.normals(size, 0.1) };
  }
}

export interface TinyCheckpoint {
  config: Record<string, unknown>;
  tensors: Tensors;
  tokenizer: Record<string, unknown>;
}

/** A LLaMA's sizes, as config.json names them. */
export interface LlamaShape {
  hidden: number;
  inner: number;
  layers: number;
  heads: number;
  kvHeads: number;
  maxPositions: number;
  /** Embedding rows (default: the tokenizer's vocabulary). */
  vocab?: number;
}

/** The config.json of a LLaMA shape with an untied lm_head, float32, BOS 1 and EOS 2. */
export function llamaConfigJson(shape: LlamaShape & { vocab: number }, rmsNormEps: number): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: shape.hidden,
    intermediate_size: shape.inner,
    num_hidden_layers: shape.layers,
    num_attention_heads: shape.heads,
    num_key_value_heads: shape.kvHeads,
    vocab_size: shape.vocab,
    max_position_embeddings: shape.maxPositions,
    rms_norm_eps: rmsNormEps,
    rope_theta: 10000,
    hidden_act: 'silu',
    tie_word_embeddings: false,
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: 'float32',
  };
}

/**
 * A LLaMA checkpoint with seeded random weights: linear weights N(0, linearStd), embeddings
 * N(0, 1), norms 1 + N(0, 0.1), drawn in a fixed order.
 */
export function llamaCheckpoint(
  random: SeededRandom,
  shape: LlamaShape,
  tokenizer: Record<string, unknown>,
  linearStd = 0.2,
): TinyCheckpoint {
  const { hidden, inner, layers, heads, kvHeads } = shape;
  const vocab = shape.vocab ?? vocabularySize(tokenizer);
  const kvWidth = (hidden / heads) * kvHeads;
  const make = new TensorMaker(random, linearStd);
  make.matrix('model.embed_tokens.weight', vocab, hidden, 1);
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}`;
    make.norm(`${p}.input_layernorm`, hidden, false);
    make.linear(`${p}.self_attn.q_proj`, hidden, hidden, false);
    make.linear(`${p}.self_attn.k_proj`, hidden, kvWidth, false);
    make.linear(`${p}.self_attn.v_proj`, hidden, kvWidth, false);
    make.linear(`${p}.self_attn.o_proj`, hidden, hidden, false);
    make.norm(`${p}.post_attention_layernorm`, hidden, false);
    make.linear(`${p}.mlp.gate_proj`, hidden, inner, false);
    make.linear(`${p}.mlp.up_proj`, hidden, inner, false);
    make.linear(`${p}.mlp.down_proj`, inner, hidden, false);
  }
  make.norm('model.norm', hidden, false);
  make.linear('lm_head', hidden, vocab, false);
  const config = llamaConfigJson({ ...shape, vocab }, 1e-6);
  return { config, tensors: make.tensors, tokenizer };
}

const tinyLlama = (random: SeededRandom) =>
  llamaCheckpoint(
    random,
    { hidden: 32, inner: 88, layers: 2, heads: 4, kvHeads: 2, maxPositions: 128 },
    llamaTokenizerJson(),
  );

/** A BLOOM causal LM's sizes. */
export interface BloomShape {
  hidden: number;
  layers: number;
  heads: number;
}

/** A BLOOM causal LM with seeded random weights, drawn in a fixed order. */
export function bloomCheckpoint(
  random: SeededRandom,
  { hidden, layers, heads }: BloomShape,
  tokenizer: Record<string, unknown>,
): TinyCheckpoint {
  const vocab = vocabularySize(tokenizer);
  const make = new TensorMaker(random);
  make.matrix('transformer.word_embeddings.weight', vocab, hidden, 1);
  make.norm('transformer.word_embeddings_layernorm', hidden, true);
  for (let i = 0; i < layers; i++) {
    const p = `transformer.h.${i}`;
    make.norm(`${p}.input_layernorm`, hidden, true);
    make.linear(`${p}.self_attention.query_key_value`, hidden, 3 * hidden, true);
    make.linear(`${p}.self_attention.dense`, hidden, hidden, true);
    make.norm(`${p}.post_attention_layernorm`, hidden, true);
    make.linear(`${p}.mlp.dense_h_to_4h`, hidden, 4 * hidden, true);
    make.linear(`${p}.mlp.dense_4h_to_h`, 4 * hidden, hidden, true);
  }
  make.norm('transformer.ln_f', hidden, true);
  const config = {
    architectures: ['BloomForCausalLM'],
    model_type: 'bloom',
    hidden_size: hidden,
    n_layer: layers,
    n_head: heads,
    vocab_size: vocab,
    layer_norm_epsilon: 1e-5,
    apply_residual_connection_post_layernorm: false,
    bos_token_id: 1,
    eos_token_id: 2,
    pad_token_id: 3,
    torch_dtype: 'float32',
  };
  return { config, tensors: make.tensors, tokenizer };
}

const tinyBloom = (random: SeededRandom) =>
  bloomCheckpoint(random, { hidden: 32, layers: 2, heads: 4 }, bloomTokenizerJson());

/** A BERT classifier's sizes. */
export interface BertShape {
  hidden: number;
  inner: number;
  layers: number;
  heads: number;
  positions: number;
}

/** A BERT sequence classifier (3 labels) with seeded random weights, drawn in a fixed order. */
export function bertCheckpoint(
  random: SeededRandom,
  shape: BertShape,
  tokenizer: Record<string, unknown>,
): TinyCheckpoint {
  const { hidden, inner, layers, heads, positions } = shape;
  const labels = 3;
  const vocab = vocabularySize(tokenizer);
  const make = new TensorMaker(random);
  make.matrix('bert.embeddings.word_embeddings.weight', vocab, hidden, 1);
  make.matrix('bert.embeddings.position_embeddings.weight', positions, hidden, 0.5);
  make.matrix('bert.embeddings.token_type_embeddings.weight', 2, hidden, 0.5);
  make.norm('bert.embeddings.LayerNorm', hidden, true);
  for (let i = 0; i < layers; i++) {
    const p = `bert.encoder.layer.${i}`;
    for (const name of ['query', 'key', 'value']) make.linear(`${p}.attention.self.${name}`, hidden, hidden, true);
    make.linear(`${p}.attention.output.dense`, hidden, hidden, true);
    make.norm(`${p}.attention.output.LayerNorm`, hidden, true);
    make.linear(`${p}.intermediate.dense`, hidden, inner, true);
    make.linear(`${p}.output.dense`, inner, hidden, true);
    make.norm(`${p}.output.LayerNorm`, hidden, true);
  }
  make.linear('bert.pooler.dense', hidden, hidden, true);
  make.linear('classifier', hidden, labels, true);
  const config = {
    architectures: ['BertForSequenceClassification'],
    model_type: 'bert',
    vocab_size: vocab,
    hidden_size: hidden,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    intermediate_size: inner,
    hidden_act: 'gelu',
    max_position_embeddings: positions,
    type_vocab_size: 2,
    layer_norm_eps: 1e-12,
    id2label: { 0: 'entailment', 1: 'neutral', 2: 'contradiction' },
    label2id: { entailment: 0, neutral: 1, contradiction: 2 },
    torch_dtype: 'float32',
  };
  return { config, tensors: make.tensors, tokenizer };
}

const tinyBert = (random: SeededRandom) =>
  bertCheckpoint(random, { hidden: 32, inner: 64, layers: 2, heads: 4, positions: 64 }, bertTokenizerJson());

const makers: Record<TinyFamily, (random: SeededRandom) => TinyCheckpoint> = {
  llama: tinyLlama,
  bloom: tinyBloom,
  bert: tinyBert,
};

/** Writes a checkpoint as a Hugging Face folder: config.json, tokenizer.json, model.safetensors. */
export function writeCheckpointFolder(folder: string, { config, tensors, tokenizer }: TinyCheckpoint): string {
  fs.mkdirSync(folder, { recursive: true });
  writeFileAtomic(path.join(folder, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  writeFileAtomic(path.join(folder, 'tokenizer.json'), JSON.stringify(tokenizer));
  writeSafetensors(path.join(folder, 'model.safetensors'), tensors, { format: 'pt' });
  return folder;
}

/** Writes one tiny checkpoint folder and returns its path. */
export function makeTinyCheckpoint(family: TinyFamily, folder: string, seed = 0): string {
  return writeCheckpointFolder(folder, makers[family](new SeededRandom(seed)));
}

if (require.main === module) {
  const [output, seed] = process.argv.slice(2);
  if (output === undefined) {
    process.stderr.write('usage: make.ts <output-folder> [seed]\n');
    process.exit(2);
  }
  for (const family of tinyFamilies) {
    process.stdout.write(`${makeTinyCheckpoint(family, path.join(output, family), Number(seed ?? 0))}\n`);
  }
}
