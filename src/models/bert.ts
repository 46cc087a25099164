import * as tf from '@tensorflow/tfjs-core';
import * as t from 'io-ts';
import { hostGemmIsNative } from '../backend/host-gemm';
import { hostMemoryBackend } from '../backend/host-view';
import { decode, PositiveInt } from '../config/decode';
import { gelu, geluTanh } from '../nn/activations';
import { Embedding } from '../nn/embedding';
import { hostLinear, type HostLinear } from '../nn/host-linear';
import { Linear, LinearRegistry } from '../nn/linear';
import { multiHeadAttention } from '../nn/multi-head-attention';
import { LayerNorm } from '../nn/norms';
import type { Architecture, LinearShape } from './architecture';
import { BertHostScoring, type BertHostLayer } from './bert-host-scoring';
import type { Scoring } from './scoring';
import type { Weights } from './weights';

/**
 * BERT for sequence classification (and regression, as STS-B): word, position and token-type
 * embeddings, a post-LayerNorm encoder with GELU, the tanh pooler over the first token, and a
 * linear classifier. Names follow Hugging Face's BertForSequenceClassification, and so does its
 * dropout in training (transformers 4.31).
 */

const BertConfigJson = t.intersection([
  t.type({
    vocab_size: PositiveInt,
    hidden_size: PositiveInt,
    num_hidden_layers: PositiveInt,
    num_attention_heads: PositiveInt,
    intermediate_size: PositiveInt,
  }),
  t.partial({
    hidden_act: t.union([t.literal('gelu'), t.literal('gelu_new')]),
    max_position_embeddings: PositiveInt,
    type_vocab_size: PositiveInt,
    layer_norm_eps: t.number,
    initializer_range: t.number,
    num_labels: PositiveInt,
    id2label: t.record(t.string, t.string),
    problem_type: t.string,
    hidden_dropout_prob: t.number,
    attention_probs_dropout_prob: t.number,
    classifier_dropout: t.union([t.number, t.null]),
  }),
]);

export interface BertConfig {
  modelType: 'bert';
  vocabSize: number;
  hiddenSize: number;
  layers: number;
  heads: number;
  headDim: number;
  intermediateSize: number;
  hiddenAct: 'gelu' | 'gelu_new';
  maxPositions: number;
  typeVocabSize: number;
  layerNormEps: number;
  initializerRange: number;
  numLabels: number;
  /** Dropout after the embeddings and after each attention and FFN output dense (training only). */
  hiddenDropout: number;
  /** Dropout on the attention probabilities (training only). */
  attentionDropout: number;
  /** Dropout on the pooled output, before the classifier (training only). */
  classifierDropout: number;
}

export function bertConfig(json: unknown, source: string): BertConfig {
  const c = decode(BertConfigJson, json, source);
  if (c.hidden_size % c.num_attention_heads !== 0) {
    throw new Error(
      `${source}: hidden_size ${c.hidden_size} is not a multiple of num_attention_heads ${c.num_attention_heads}`,
    );
  }
  // Hugging Face's BertConfig defaults; classifier_dropout null falls back to hidden_dropout_prob.
  const hiddenDropout = c.hidden_dropout_prob ?? 0.1;
  const dropouts = {
    hidden_dropout_prob: hiddenDropout,
    attention_probs_dropout_prob: c.attention_probs_dropout_prob ?? 0.1,
    classifier_dropout: c.classifier_dropout ?? hiddenDropout,
  };
  for (const [name, rate] of Object.entries(dropouts)) {
    if (!(rate >= 0 && rate < 1)) throw new Error(`${source}: ${name} must be in [0, 1), got ${rate}`);
  }
  return {
    modelType: 'bert',
    vocabSize: c.vocab_size,
    hiddenSize: c.hidden_size,
    layers: c.num_hidden_layers,
    heads: c.num_attention_heads,
    headDim: c.hidden_size / c.num_attention_heads,
    intermediateSize: c.intermediate_size,
    hiddenAct: c.hidden_act ?? 'gelu',
    maxPositions: c.max_position_embeddings ?? 512,
    typeVocabSize: c.type_vocab_size ?? 2,
    layerNormEps: c.layer_norm_eps ?? 1e-12,
    initializerRange: c.initializer_range ?? 0.02,
    numLabels: c.num_labels ?? (c.id2label !== undefined ? Object.keys(c.id2label).length : 2),
    hiddenDropout: dropouts.hidden_dropout_prob,
    attentionDropout: dropouts.attention_probs_dropout_prob,
    classifierDropout: dropouts.classifier_dropout,
  };
}

export interface BertInput {
  /** int32 [batch, time]. */
  inputIds: tf.Tensor2D;
  /** [batch, time], 1 real / 0 padding. */
  attentionMask?: tf.Tensor2D;
  /** int32 [batch, time]; zeros when omitted. */
  tokenTypeIds?: tf.Tensor2D;
}

/**
 * BERT's linear layers. Elastic: the attention width (query, key and value together, in whole
 * heads; the attention output dense follows) and the FFN width (the output dense follows).
 */
export function bertArchitecture(config: BertConfig): Architecture {
  const { hiddenSize: hidden, intermediateSize: inner } = config;
  const linears: LinearShape[] = [];
  const add = (path: string, inFeatures: number, outFeatures: number, perToken = true) =>
    linears.push({ path, inFeatures, outFeatures, bias: true, perToken });
  for (let i = 0; i < config.layers; i++) {
    const p = `bert.encoder.layer.${i}`;
    for (const name of ['query', 'key', 'value']) add(`${p}.attention.self.${name}`, hidden, hidden);
    add(`${p}.attention.output.dense`, hidden, hidden);
    add(`${p}.intermediate.dense`, hidden, inner);
    add(`${p}.output.dense`, inner, hidden);
  }
  add('bert.pooler.dense', hidden, hidden, false);
  add('classifier', hidden, config.numLabels, false);
  const head = config.headDim;
  return {
    modelType: 'bert',
    basePrefix: 'bert.',
    linears,
    widthConsumers: [
      { producer: 'attention.self.query', consumer: 'attention.output.dense', multipleOf: head },
      { producer: 'attention.self.key', consumer: 'attention.output.dense', multipleOf: head },
      { producer: 'attention.self.value', consumer: 'attention.output.dense', multipleOf: head },
      { producer: 'intermediate.dense', consumer: 'output.dense' },
    ],
    queryProjections: Array.from({ length: config.layers }, (_, i) => ({
      path: `bert.encoder.layer.${i}.attention.self.query`,
      queryFraction: 1,
    })),
  };
}

interface EncoderLayer {
  attentionNorm: LayerNorm;
  outputNorm: LayerNorm;
}

export class BertForSequenceClassification {
  readonly linears = new LinearRegistry();
  /**
   * Set while training: every dropout mask takes its seed from here, in forward order. Unset,
   * the forward applies no dropout (evaluation).
   */
  dropoutSeed?: () => number;

  private constructor(
    readonly config: BertConfig,
    private readonly embeddings: { word: Embedding; position: Embedding; tokenType: Embedding; norm: LayerNorm },
    private readonly layers: EncoderLayer[],
  ) {}

  /**
   * Builds the model; a checkpoint without a pooler or classifier (a bare encoder) gets them
   * initialised as Hugging Face does (normal(0, initializer_range), zero bias), from `seed`.
   */
  static fromWeights(
    config: BertConfig,
    weights: Weights,
    architecture = bertArchitecture(config),
    seed = 0,
  ): BertForSequenceClassification {
    const hidden = config.hiddenSize;
    const norm = (name: string) => weights.layerNorm(name, hidden, config.layerNormEps);
    const embedding = (name: string, count: number) =>
      new Embedding(weights.take(`bert.embeddings.${name}.weight`, [count, hidden]));
    const embeddings = {
      word: embedding('word_embeddings', config.vocabSize),
      position: embedding('position_embeddings', config.maxPositions),
      tokenType: embedding('token_type_embeddings', config.typeVocabSize),
      norm: norm('bert.embeddings.LayerNorm'),
    };
    const layers: EncoderLayer[] = Array.from({ length: config.layers }, (_, i) => ({
      attentionNorm: norm(`bert.encoder.layer.${i}.attention.output.LayerNorm`),
      outputNorm: norm(`bert.encoder.layer.${i}.output.LayerNorm`),
    }));
    const model = new BertForSequenceClassification(config, embeddings, layers);
    let initialised = 0;
    for (const { path, inFeatures, outFeatures } of architecture.linears) {
      const optional = path === 'bert.pooler.dense' || path === 'classifier';
      if (optional && !weights.has(`${path}.weight`)) {
        const std = config.initializerRange;
        const weight = tf.randomNormal(
          [inFeatures, outFeatures],
          0,
          std,
          'float32',
          seed + initialised++,
        ) as tf.Tensor2D;
        model.linears.add(new Linear(path, weight, tf.zeros([outFeatures])));
      } else {
        model.linears.add(weights.linear(path, inFeatures, outFeatures, true));
      }
    }
    return model;
  }

  /** Logits [batch, numLabels] (one regression output when numLabels is 1). */
  forward({ inputIds, attentionMask, tokenTypeIds }: BertInput): tf.Tensor2D {
    const [batch, time] = inputIds.shape;
    if (time > this.config.maxPositions) {
      throw new Error(`bert: ${time} tokens exceed max_position_embeddings ${this.config.maxPositions}`);
    }
    const activation = this.config.hiddenAct === 'gelu' ? gelu : geluTanh;
    const { hiddenDropout, attentionDropout, classifierDropout } = this.config;
    const seed = this.dropoutSeed;
    /** Training-only dropout, as torch.nn.Dropout (inverted: kept values scale by 1 / (1 - rate)). */
    const dropout = <T extends tf.Tensor>(x: T, rate: number): T =>
      seed !== undefined && rate > 0 ? (tf.dropout(x, rate, undefined, seed()) as T) : x;
    return tf.tidy(() => {
      const positions = tf.range(0, time, 1, 'int32');
      const types = tokenTypeIds ?? tf.zeros([batch, time], 'int32');
      const { word, position, tokenType, norm } = this.embeddings;
      let h = dropout(
        norm.forward(tf.add(tf.add(word.forward(inputIds), position.forward(positions)), tokenType.forward(types))),
        hiddenDropout,
      );
      const attend = multiHeadAttention({
        attentionMask,
        batch,
        queryLength: time,
        keyLength: time,
        causal: false,
        headDim: this.config.headDim,
        caching: false,
        dropout:
          seed !== undefined && attentionDropout > 0
            ? (probabilities) => dropout(probabilities, attentionDropout)
            : undefined,
      });
      this.layers.forEach((layer, i) => {
        const p = `bert.encoder.layer.${i}`;
        const project = (name: string) => this.linears.get(`${p}.attention.self.${name}`).forward(h) as tf.Tensor3D;
        const { output: context } = attend({ q: project('query'), k: project('key'), v: project('value') });
        const attentionOutput = this.linears.get(`${p}.attention.output.dense`).forward(context);
        const attended = layer.attentionNorm.forward(tf.add(dropout(attentionOutput, hiddenDropout), h));
        const inner = activation(this.linears.get(`${p}.intermediate.dense`).forward(attended));
        const output = this.linears.get(`${p}.output.dense`).forward(inner);
        h = layer.outputNorm.forward(tf.add(dropout(output, hiddenDropout), attended));
      });
      const first = tf.reshape(tf.slice(h, [0, 0, 0], [batch, 1, -1]), [batch, this.config.hiddenSize]);
      const pooled = tf.tanh(this.linears.get('bert.pooler.dense').forward(first));
      return this.linears.get('classifier').forward(dropout(pooled, classifierDropout)) as tf.Tensor2D;
    });
  }

  /**
   * Scoring on host arrays on the wasm and cpu backends with OpenBLAS, for the layers' current
   * widths and adapters; undefined in training (dropout), without the addon (the host's products
   * would be a JavaScript loop, slower than the wasm backend's own at real sizes), where a layer
   * has no host form, or where the widths are not ones `forward` accepts.
   */
  hostScoring(): Scoring | undefined {
    if (!hostMemoryBackend() || !hostGemmIsNative() || this.dropoutSeed !== undefined) return undefined;
    const { hiddenSize: hidden, headDim, numLabels } = this.config;
    const linear = (path: string) => hostLinear(this.linears.get(path));
    const fits = (layer: HostLinear | undefined, inFeatures: number, outFeatures: number): layer is HostLinear =>
      layer !== undefined && layer.inFeatures === inFeatures && layer.outFeatures === outFeatures;
    const layers: BertHostLayer[] = [];
    for (const [i, { attentionNorm, outputNorm }] of this.layers.entries()) {
      const p = `bert.encoder.layer.${i}`;
      const [query, key, value] = ['query', 'key', 'value'].map((name) => linear(`${p}.attention.self.${name}`));
      const attentionOutput = linear(`${p}.attention.output.dense`);
      const intermediate = linear(`${p}.intermediate.dense`);
      const output = linear(`${p}.output.dense`);
      // Whole heads, the same number for queries, keys and values.
      const [width, inner] = [query?.outFeatures ?? 0, intermediate?.outFeatures ?? 0];
      if (
        width % headDim !== 0 ||
        !fits(query, hidden, width) ||
        !fits(key, hidden, width) ||
        !fits(value, hidden, width) ||
        !fits(attentionOutput, width, hidden) ||
        !fits(intermediate, hidden, inner) ||
        !fits(output, inner, hidden)
      ) {
        return undefined;
      }
      layers.push({ query, key, value, attentionOutput, attentionNorm, intermediate, output, outputNorm });
    }
    const pooler = linear('bert.pooler.dense');
    const classifier = linear('classifier');
    if (!fits(pooler, hidden, hidden) || !fits(classifier, hidden, numLabels)) return undefined;
    return new BertHostScoring({ config: this.config, embeddings: this.embeddings, layers, pooler, classifier });
  }

  /** Cross-entropy over labels (int), or mean squared error for one regression output. */
  loss(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
    return tf.tidy(() => {
      if (this.config.numLabels === 1) return tf.mean(tf.square(tf.sub(tf.reshape(logits, [-1]), labels))) as tf.Scalar;
      const logProbs = tf.logSoftmax(logits);
      const picked = tf.sum(tf.mul(logProbs, tf.oneHot(tf.cast(labels, 'int32'), this.config.numLabels)), -1);
      return tf.neg(tf.mean(picked)) as tf.Scalar;
    });
  }

  dispose(): void {
    const { word, position, tokenType, norm } = this.embeddings;
    tf.dispose([word.weight, position.weight, tokenType.weight, norm.weight, norm.bias]);
    for (const layer of this.layers) {
      tf.dispose([
        layer.attentionNorm.weight,
        layer.attentionNorm.bias,
        layer.outputNorm.weight,
        layer.outputNorm.bias,
      ]);
    }
    this.linears.dispose();
  }
}
