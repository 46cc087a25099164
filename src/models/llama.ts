import * as tf from '@tensorflow/tfjs-core';
import * as t from 'io-ts';
import { decode, PositiveInt } from '../config/decode';
import { swiglu } from '../nn/activations';
import type { KVCache } from '../nn/attention';
import { Embedding } from '../nn/embedding';
import { hostMemoryBackend } from '../backend/host-view';
import { hostLinear, type HostLinear } from '../nn/host-linear';
import { Linear, LinearRegistry } from '../nn/linear';
import { multiHeadAttention } from '../nn/multi-head-attention';
import { RMSNorm } from '../nn/norms';
import { RotaryEmbedding } from '../nn/rotary';
import { tidy } from '../nn/tidy';
import type { Architecture, LinearShape } from './architecture';
import type { CausalLM, CausalLMConfig, CausalLMInput, CausalLMOutput } from './causal-lm';
import type { Decoding } from './decoding';
import { LlamaHostDecoding, type LlamaHostLayer } from './llama-host-decoding';
import { tokenIdList, TokenIdField } from './token-ids';
import type { Weights } from './weights';

/**
 * LLaMA (and LLaMA-2, Mistral-free): RMSNorm, rotary embeddings, grouped-query attention,
 * SwiGLU MLP, tied or untied lm_head. Module paths and tensor names follow Hugging Face's
 * LlamaForCausalLM.
 */

const LlamaConfigJson = t.intersection([
  t.type({
    hidden_size: PositiveInt,
    intermediate_size: PositiveInt,
    num_hidden_layers: PositiveInt,
    num_attention_heads: PositiveInt,
    vocab_size: PositiveInt,
  }),
  t.partial({
    num_key_value_heads: PositiveInt,
    max_position_embeddings: PositiveInt,
    rms_norm_eps: t.number,
    rope_theta: t.number,
    tie_word_embeddings: t.boolean,
    hidden_act: t.literal('silu'),
    rope_scaling: t.null,
    bos_token_id: TokenIdField,
    eos_token_id: TokenIdField,
    pad_token_id: TokenIdField,
  }),
]);

export interface LlamaConfig extends CausalLMConfig {
  modelType: 'llama';
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  tieWordEmbeddings: boolean;
}

export function llamaConfig(json: unknown, source: string): LlamaConfig {
  const c = decode(LlamaConfigJson, json, source);
  const kvHeads = c.num_key_value_heads ?? c.num_attention_heads;
  if (c.hidden_size % c.num_attention_heads !== 0 || c.num_attention_heads % kvHeads !== 0) {
    throw new Error(
      `${source}: hidden_size ${c.hidden_size}, num_attention_heads ${c.num_attention_heads} and ` +
        `num_key_value_heads ${kvHeads} must divide evenly`,
    );
  }
  return {
    modelType: 'llama',
    hiddenSize: c.hidden_size,
    intermediateSize: c.intermediate_size,
    layers: c.num_hidden_layers,
    heads: c.num_attention_heads,
    kvHeads,
    headDim: c.hidden_size / c.num_attention_heads,
    vocabSize: c.vocab_size,
    maxPositions: c.max_position_embeddings ?? 2048,
    rmsNormEps: c.rms_norm_eps ?? 1e-6,
    ropeTheta: c.rope_theta ?? 10000,
    tieWordEmbeddings: c.tie_word_embeddings ?? false,
    bosTokenId: tokenIdList(c.bos_token_id)[0],
    eosTokenIds: tokenIdList(c.eos_token_id),
    padTokenId: tokenIdList(c.pad_token_id)[0],
  };
}

/** LLaMA's linear layers; the MLP width is elastic (down_proj follows gate/up), attention is not. */
export function llamaArchitecture(config: LlamaConfig): Architecture {
  const { hiddenSize: hidden, intermediateSize: inner, headDim } = config;
  const kvWidth = config.kvHeads * headDim;
  const linears: LinearShape[] = [];
  const add = (path: string, inFeatures: number, outFeatures: number) =>
    linears.push({ path, inFeatures, outFeatures, bias: false, perToken: true });
  for (let i = 0; i < config.layers; i++) {
    const p = `model.layers.${i}`;
    add(`${p}.self_attn.q_proj`, hidden, hidden);
    add(`${p}.self_attn.k_proj`, hidden, kvWidth);
    add(`${p}.self_attn.v_proj`, hidden, kvWidth);
    add(`${p}.self_attn.o_proj`, hidden, hidden);
    add(`${p}.mlp.gate_proj`, hidden, inner);
    add(`${p}.mlp.up_proj`, hidden, inner);
    add(`${p}.mlp.down_proj`, inner, hidden);
  }
  add('lm_head', hidden, config.vocabSize);
  return {
    modelType: 'llama',
    basePrefix: '',
    linears,
    widthConsumers: [
      { producer: 'mlp.gate_proj', consumer: 'mlp.down_proj' },
      { producer: 'mlp.up_proj', consumer: 'mlp.down_proj' },
    ],
    queryProjections: Array.from({ length: config.layers }, (_, i) => ({
      path: `model.layers.${i}.self_attn.q_proj`,
      queryFraction: 1,
    })),
  };
}

interface DecoderLayer {
  inputNorm: RMSNorm;
  postAttentionNorm: RMSNorm;
}

export class LlamaForCausalLM implements CausalLM {
  readonly linears = new LinearRegistry();
  private readonly rotary: RotaryEmbedding;

  private constructor(
    readonly config: LlamaConfig,
    private readonly embed: Embedding,
    private readonly layers: DecoderLayer[],
    private readonly norm: RMSNorm,
  ) {
    this.rotary = new RotaryEmbedding(config.headDim, config.maxPositions, config.ropeTheta);
  }

  static fromWeights(
    config: LlamaConfig,
    weights: Weights,
    architecture = llamaArchitecture(config),
  ): LlamaForCausalLM {
    const { hiddenSize: hidden, vocabSize: vocab } = config;
    const embedWeight = weights.take<tf.Rank.R2>('model.embed_tokens.weight', [vocab, hidden]);
    const norm = (name: string) => new RMSNorm(weights.take(`${name}.weight`, [hidden]), config.rmsNormEps);
    const layers: DecoderLayer[] = Array.from({ length: config.layers }, (_, i) => ({
      inputNorm: norm(`model.layers.${i}.input_layernorm`),
      postAttentionNorm: norm(`model.layers.${i}.post_attention_layernorm`),
    }));
    const model = new LlamaForCausalLM(config, new Embedding(embedWeight), layers, norm('model.norm'));
    for (const { path, inFeatures, outFeatures } of architecture.linears) {
      const tied = path === 'lm_head' && config.tieWordEmbeddings;
      model.linears.add(
        tied ? new Linear('lm_head', tf.transpose(embedWeight)) : weights.linear(path, inFeatures, outFeatures, false),
      );
    }
    return model;
  }

  forward({ inputIds, attentionMask, positionIds, cache, useCache, lastPositionOnly }: CausalLMInput): CausalLMOutput {
    const { headDim, maxPositions } = this.config;
    const [batch, time] = inputIds.shape;
    const past = cache?.[0]?.key.shape[2] ?? 0;
    if (positionIds === undefined && past + time > maxPositions) {
      throw new Error(`llama: ${past + time} positions exceed max_position_embeddings ${maxPositions}`);
    }
    return tidy(() => {
      const positions =
        positionIds ??
        (tf.tile(tf.reshape(tf.range(past, past + time, 1, 'int32'), [1, time]), [batch, 1]) as tf.Tensor2D);
      const attend = multiHeadAttention({
        attentionMask,
        batch,
        queryLength: time,
        keyLength: past + time,
        causal: true,
        headDim,
        caching: useCache === true || cache !== undefined,
      });
      const newCache: KVCache = [];
      let h = this.embed.forward(inputIds);
      this.layers.forEach((layer, i) => {
        const p = `model.layers.${i}`;
        const x = layer.inputNorm.forward(h);
        const project = (name: string) => this.linears.get(`${p}.self_attn.${name}`).forward(x) as tf.Tensor3D;
        const q = this.rotary.apply(project('q_proj'), positions);
        const k = this.rotary.apply(project('k_proj'), positions);
        const { output, cache: extended } = attend({ q, k, v: project('v_proj') }, cache?.[i]);
        if (extended !== undefined) newCache.push(extended);
        h = tf.add(h, this.linears.get(`${p}.self_attn.o_proj`).forward(output));
        const y = layer.postAttentionNorm.forward(h);
        const gate = this.linears.get(`${p}.mlp.gate_proj`).forward(y);
        const up = this.linears.get(`${p}.mlp.up_proj`).forward(y);
        h = tf.add(h, this.linears.get(`${p}.mlp.down_proj`).forward(swiglu(gate, up)));
      });
      h = this.norm.forward(h);
      if (lastPositionOnly) h = tf.slice(h, [0, time - 1, 0], [batch, 1, -1]);
      const logits = this.linears.get('lm_head').forward(h) as tf.Tensor3D;
      return useCache ? { logits, cache: newCache } : { logits };
    });
  }

  /**
   * Host decoding on the wasm and cpu backends, for the layers' current widths and adapters;
   * undefined where a layer has no host form or the widths are not ones `forward` accepts.
   */
  hostDecoding(rows: number, capacity: number): Decoding | undefined {
    if (!hostMemoryBackend()) return undefined;
    const { heads, kvHeads, headDim, hiddenSize: hidden } = this.config;
    const linear = (path: string) => hostLinear(this.linears.get(path));
    const layers: LlamaHostLayer[] = [];
    for (const [i, layer] of this.layers.entries()) {
      const p = `model.layers.${i}`;
      const [q, k, v, o] = ['q_proj', 'k_proj', 'v_proj', 'o_proj'].map((name) => linear(`${p}.self_attn.${name}`));
      const [gate, up, down] = ['gate_proj', 'up_proj', 'down_proj'].map((name) => linear(`${p}.mlp.${name}`));
      if (q === undefined || k === undefined || v === undefined || o === undefined) return undefined;
      if (gate === undefined || up === undefined || down === undefined) return undefined;
      const widths = (l: HostLinear) => [l.inFeatures, l.outFeatures];
      const expected: Array<[HostLinear, number[]]> = [
        [q, [hidden, heads * headDim]],
        [k, [hidden, kvHeads * headDim]],
        [v, [hidden, kvHeads * headDim]],
        [o, [heads * headDim, hidden]],
        [gate, [hidden, up.outFeatures]],
        [up, [hidden, down.inFeatures]],
        [down, [gate.outFeatures, hidden]],
      ];
      if (expected.some(([l, want]) => widths(l).some((w, j) => w !== want[j]))) return undefined;
      layers.push({
        inputNorm: layer.inputNorm.weight,
        postAttentionNorm: layer.postAttentionNorm.weight,
        q,
        k,
        v,
        o,
        gate,
        up,
        down,
      });
    }
    const lmHead = linear('lm_head');
    if (lmHead === undefined || lmHead.inFeatures !== hidden || lmHead.outFeatures !== this.config.vocabSize) {
      return undefined;
    }
    const parts = { config: this.config, embed: this.embed.weight, layers, norm: this.norm.weight, lmHead };
    return new LlamaHostDecoding({ ...parts, rotary: this.rotary }, rows, capacity);
  }

  dispose(): void {
    this.rotary.dispose();
    tf.dispose([
      this.embed.weight,
      this.norm.weight,
      ...this.layers.flatMap((l) => [l.inputNorm.weight, l.postAttentionNorm.weight]),
    ]);
    this.linears.dispose();
  }
}
