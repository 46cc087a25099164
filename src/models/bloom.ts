import * as tf from '@tensorflow/tfjs-core';
import * as t from 'io-ts';
import { decode, PositiveInt } from '../config/decode';
import { geluTanh } from '../nn/activations';
import type { KVCache } from '../nn/attention';
import { Embedding } from '../nn/embedding';
import { Linear, LinearRegistry } from '../nn/linear';
import { multiHeadAttention } from '../nn/multi-head-attention';
import { LayerNorm } from '../nn/norms';
import { tidy } from '../nn/tidy';
import type { Architecture, LinearShape } from './architecture';
import type { CausalLM, CausalLMConfig, CausalLMInput, CausalLMOutput } from './causal-lm';
import { tokenIdList, TokenIdField } from './token-ids';
import type { Weights } from './weights';

/**
 * BLOOM: LayerNorm after the word embeddings, ALiBi position biases instead of position
 * embeddings, a fused query_key_value projection laid out head by head ([q_h, k_h, v_h] for each
 * head h), the tanh GELU, and an lm_head tied to the embeddings. Names follow Hugging Face's
 * BloomForCausalLM.
 */

const BloomConfigJson = t.intersection([
  t.type({ vocab_size: PositiveInt }),
  t.partial({
    hidden_size: PositiveInt,
    n_embed: PositiveInt,
    n_layer: PositiveInt,
    num_hidden_layers: PositiveInt,
    n_head: PositiveInt,
    num_attention_heads: PositiveInt,
    layer_norm_epsilon: t.number,
    apply_residual_connection_post_layernorm: t.boolean,
    seq_length: PositiveInt,
    bos_token_id: TokenIdField,
    eos_token_id: TokenIdField,
    pad_token_id: TokenIdField,
  }),
]);

export interface BloomConfig extends CausalLMConfig {
  modelType: 'bloom';
  hiddenSize: number;
  layers: number;
  heads: number;
  headDim: number;
  layerNormEps: number;
  residualAfterNorm: boolean;
}

export function bloomConfig(json: unknown, source: string): BloomConfig {
  const c = decode(BloomConfigJson, json, source);
  const hiddenSize = c.hidden_size ?? c.n_embed;
  const layers = c.n_layer ?? c.num_hidden_layers;
  const heads = c.n_head ?? c.num_attention_heads;
  if (hiddenSize === undefined || layers === undefined || heads === undefined) {
    throw new Error(`${source}: needs hidden_size (or n_embed), n_layer and n_head`);
  }
  if (hiddenSize % heads !== 0)
    throw new Error(`${source}: hidden_size ${hiddenSize} is not a multiple of n_head ${heads}`);
  return {
    modelType: 'bloom',
    vocabSize: c.vocab_size,
    hiddenSize,
    layers,
    heads,
    headDim: hiddenSize / heads,
    layerNormEps: c.layer_norm_epsilon ?? 1e-5,
    residualAfterNorm: c.apply_residual_connection_post_layernorm ?? false,
    // ALiBi has no position table; seq_length is only the training length, so it does not cap generation.
    maxPositions: Number.MAX_SAFE_INTEGER,
    bosTokenId: tokenIdList(c.bos_token_id)[0],
    eosTokenIds: tokenIdList(c.eos_token_id),
    padTokenId: tokenIdList(c.pad_token_id)[0],
  };
}

/** ALiBi head slopes, geometric from 2^(-8/n) (with the odd-step extension when n is not a power of 2). */
export function alibiSlopes(heads: number): number[] {
  const closest = 2 ** Math.floor(Math.log2(heads));
  const base = 2 ** -(2 ** -(Math.log2(closest) - 3));
  const slopes = Array.from({ length: closest }, (_, i) => base ** (i + 1));
  if (closest !== heads) {
    const extraBase = 2 ** -(2 ** -(Math.log2(2 * closest) - 3));
    const remaining = Math.min(closest, heads - closest);
    for (let i = 0; i < remaining; i++) slopes.push(extraBase ** (2 * i + 1));
  }
  return slopes;
}

/** BLOOM's linear layers; the MLP width is elastic (dense_4h_to_h follows dense_h_to_4h). */
export function bloomArchitecture(config: BloomConfig): Architecture {
  const hidden = config.hiddenSize;
  const linears: LinearShape[] = [];
  const add = (path: string, inFeatures: number, outFeatures: number, bias = true) =>
    linears.push({ path, inFeatures, outFeatures, bias, perToken: true });
  for (let i = 0; i < config.layers; i++) {
    const p = `transformer.h.${i}`;
    add(`${p}.self_attention.query_key_value`, hidden, 3 * hidden);
    add(`${p}.self_attention.dense`, hidden, hidden);
    add(`${p}.mlp.dense_h_to_4h`, hidden, 4 * hidden);
    add(`${p}.mlp.dense_4h_to_h`, 4 * hidden, hidden);
  }
  add('lm_head', hidden, config.vocabSize, false);
  return {
    modelType: 'bloom',
    basePrefix: 'transformer.',
    linears,
    widthConsumers: [{ producer: 'mlp.dense_h_to_4h', consumer: 'mlp.dense_4h_to_h' }],
    queryProjections: Array.from({ length: config.layers }, (_, i) => ({
      path: `transformer.h.${i}.self_attention.query_key_value`,
      queryFraction: 1 / 3,
    })),
  };
}

interface BloomBlock {
  inputNorm: LayerNorm;
  postAttentionNorm: LayerNorm;
}

export class BloomForCausalLM implements CausalLM {
  readonly linears = new LinearRegistry();
  private readonly slopes: number[];

  private constructor(
    readonly config: BloomConfig,
    private readonly embed: Embedding,
    private readonly embedNorm: LayerNorm,
    private readonly blocks: BloomBlock[],
    private readonly finalNorm: LayerNorm,
  ) {
    this.slopes = alibiSlopes(config.heads);
  }

  static fromWeights(
    config: BloomConfig,
    weights: Weights,
    architecture = bloomArchitecture(config),
  ): BloomForCausalLM {
    const { hiddenSize: hidden, vocabSize: vocab } = config;
    const norm = (name: string) => weights.layerNorm(name, hidden, config.layerNormEps);
    const embedWeight = weights.take<tf.Rank.R2>('transformer.word_embeddings.weight', [vocab, hidden]);
    const blocks: BloomBlock[] = Array.from({ length: config.layers }, (_, i) => ({
      inputNorm: norm(`transformer.h.${i}.input_layernorm`),
      postAttentionNorm: norm(`transformer.h.${i}.post_attention_layernorm`),
    }));
    const model = new BloomForCausalLM(
      config,
      new Embedding(embedWeight),
      norm('transformer.word_embeddings_layernorm'),
      blocks,
      norm('transformer.ln_f'),
    );
    for (const { path, inFeatures, outFeatures, bias } of architecture.linears) {
      const tied = path === 'lm_head' && !weights.has('lm_head.weight');
      model.linears.add(
        tied ? new Linear('lm_head', tf.transpose(embedWeight)) : weights.linear(path, inFeatures, outFeatures, bias),
      );
    }
    return model;
  }

  forward({ inputIds, attentionMask, cache, useCache, lastPositionOnly }: CausalLMInput): CausalLMOutput {
    const { headDim } = this.config;
    const [batch, time] = inputIds.shape;
    const past = cache?.[0]?.key.shape[2] ?? 0;
    return tidy(() => {
      const attend = multiHeadAttention({
        attentionMask,
        batch,
        queryLength: time,
        keyLength: past + time,
        causal: true,
        headDim,
        alibiSlopes: this.slopes,
        caching: useCache === true || cache !== undefined,
      });
      const newCache: KVCache = [];
      let h = this.embedNorm.forward(this.embed.forward(inputIds));
      this.blocks.forEach((block, i) => {
        const p = `transformer.h.${i}`;
        const normed = block.inputNorm.forward(h);
        const residual = this.config.residualAfterNorm ? normed : h;
        const qkv = this.linears.get(`${p}.self_attention.query_key_value`).forward(normed) as tf.Tensor3D;
        const { output, cache: extended } = attend({ qkv }, cache?.[i]);
        if (extended !== undefined) newCache.push(extended);
        h = tf.add(this.linears.get(`${p}.self_attention.dense`).forward(output), residual);
        const normed2 = block.postAttentionNorm.forward(h);
        const residual2 = this.config.residualAfterNorm ? normed2 : h;
        const inner = geluTanh(this.linears.get(`${p}.mlp.dense_h_to_4h`).forward(normed2));
        h = tf.add(this.linears.get(`${p}.mlp.dense_4h_to_h`).forward(inner), residual2);
      });
      h = this.finalNorm.forward(h);
      if (lastPositionOnly) h = tf.slice(h, [0, time - 1, 0], [batch, 1, -1]);
      const logits = this.linears.get('lm_head').forward(h) as tf.Tensor3D;
      return useCache ? { logits, cache: newCache } : { logits };
    });
  }

  dispose(): void {
    const norms = [this.embedNorm, this.finalNorm, ...this.blocks.flatMap((b) => [b.inputNorm, b.postAttentionNorm])];
    tf.dispose([this.embed.weight, ...norms.flatMap((n) => [n.weight, n.bias])]);
    this.linears.dispose();
  }
}
