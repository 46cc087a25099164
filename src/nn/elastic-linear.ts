import * as tf from '@tensorflow/tfjs-core';
import { Linear, type LinearLayer } from './linear';
import { loraProduct } from './lora-product';
import { slicedProduct } from './sliced-product';

/** A LoRA adapter's hyper-parameters. */
export interface LoraSettings {
  /** The maximum rank r_max (the rank the adapter is created with). */
  rank: number;
  alpha: number;
  /** Dropout on the input of A, in training. */
  dropout: number;
}

/** The widths a subnetwork gives one layer. */
export interface ActiveWidths {
  inFeatures: number;
  outFeatures: number;
  /** Active LoRA rank (0 without an adapter). */
  rank: number;
}

/**
 * A frozen linear layer with elastic widths and an optional elastic LoRA adapter:
 *
 *   y = x W0[:in, :out] + b[:out] + (alpha / r_max) * dropout(x) A[:in, :r] B[:r, :out]
 *
 * (W0, A, B stored input-major: A here is PEFT's lora_A transposed.) The scaling stays
 * alpha / r_max whatever rank is active, as in LoNAS. A and B keep their full size: a product
 * through slices gives them full-size gradients that are zero outside the active block.
 */
export class ElasticLinear implements LinearLayer {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly maxRank: number;
  readonly scaling: number;
  /** [in, r_max], kaiming-uniform (a = sqrt(5)), trainable. */
  readonly loraA?: tf.Variable<tf.Rank.R2>;
  /** [r_max, out], zeros, trainable. */
  readonly loraB?: tf.Variable<tf.Rank.R2>;
  private active: ActiveWidths;
  /** Set while training: where dropout masks take their seeds. */
  dropoutSeed?: () => number;

  constructor(
    readonly base: Linear,
    readonly lora?: LoraSettings & { initSeed: number },
  ) {
    this.inFeatures = base.inFeatures;
    this.outFeatures = base.outFeatures;
    this.maxRank = lora?.rank ?? 0;
    this.scaling = lora === undefined ? 0 : lora.alpha / lora.rank;
    if (lora !== undefined) {
      // kaiming_uniform_(a=sqrt(5)) on PyTorch's [r, in] gives bound 1 / sqrt(in).
      const bound = 1 / Math.sqrt(this.inFeatures);
      const a = tf.randomUniform([this.inFeatures, lora.rank], -bound, bound, 'float32', lora.initSeed);
      this.loraA = tf.variable(a as tf.Tensor2D, true);
      this.loraB = tf.variable(tf.zeros([lora.rank, this.outFeatures]), true);
      a.dispose();
    }
    this.active = { inFeatures: this.inFeatures, outFeatures: this.outFeatures, rank: this.maxRank };
  }

  get path(): string {
    return this.base.path;
  }

  get widths(): ActiveWidths {
    return { ...this.active };
  }

  set widths(widths: ActiveWidths) {
    const check = (name: string, value: number, max: number, min: number) => {
      if (!Number.isInteger(value) || value < min || value > max) {
        throw new Error(`${this.path}: active ${name} ${value} is outside [${min}, ${max}]`);
      }
    };
    check('input width', widths.inFeatures, this.inFeatures, 1);
    check('output width', widths.outFeatures, this.outFeatures, 1);
    check('rank', widths.rank, this.maxRank, this.maxRank === 0 ? 0 : 1);
    this.active = { ...widths };
  }

  forward(x: tf.Tensor): tf.Tensor {
    const { inFeatures, outFeatures, rank } = this.active;
    const width = x.shape[x.shape.length - 1];
    if (width !== inFeatures) {
      throw new Error(`${this.path}: input has width ${width}, but the active input width is ${inFeatures}`);
    }
    return tf.tidy(() => {
      const flat = tf.reshape(x, [-1, inFeatures]) as tf.Tensor2D;
      const adapted = this.loraA !== undefined && this.loraB !== undefined && rank > 0;
      const loraInput = adapted ? this.loraInput(flat) : flat;
      const y = (adapted ? this.fusedProduct(flat, loraInput) : undefined) ?? this.composedProduct(flat, loraInput);
      return tf.reshape(y, [...x.shape.slice(0, -1), outFeatures]);
    });
  }

  /** Frozen base weights (and bias): nothing of the base layer needs a gradient. */
  private get frozen(): boolean {
    return !(this.base.weight instanceof tf.Variable) && !(this.base.bias instanceof tf.Variable);
  }

  /** The adapted layer as one operation where the backend has it (see loraProduct). */
  private fusedProduct(flat: tf.Tensor2D, loraInput: tf.Tensor2D): tf.Tensor2D | undefined {
    if (!this.frozen) return undefined;
    return loraProduct(flat, loraInput, {
      ...this.active,
      weight: this.base.weight,
      bias: this.base.bias,
      loraA: this.loraA as tf.Tensor2D,
      loraB: this.loraB as tf.Tensor2D,
      scaling: this.scaling,
    });
  }

  /** The layer from tfjs operations (a narrower frozen base through slicedProduct). */
  private composedProduct(flat: tf.Tensor2D, loraInput: tf.Tensor2D): tf.Tensor {
    const { inFeatures, outFeatures, rank } = this.active;
    const full = inFeatures === this.inFeatures && outFeatures === this.outFeatures;
    let y = full
      ? tf.matMul(flat, this.base.weight)
      : ((this.frozen ? slicedProduct(flat, this.base.weight, inFeatures, outFeatures) : undefined) ??
        tf.matMul(flat, tf.slice(this.base.weight, [0, 0], [inFeatures, outFeatures])));
    if (this.base.bias !== undefined) {
      y = tf.add(y, outFeatures === this.outFeatures ? this.base.bias : tf.slice(this.base.bias, 0, outFeatures));
    }
    if (this.loraA !== undefined && this.loraB !== undefined && rank > 0) {
      const a = tf.slice(this.loraA, [0, 0], [inFeatures, rank]);
      const b = tf.slice(this.loraB, [0, 0], [rank, outFeatures]);
      y = tf.add(y, tf.mul(tf.matMul(tf.matMul(loraInput, a), b), this.scaling));
    }
    return y;
  }

  /** LoRA's input: x after dropout while training with a dropout rate, else x itself. */
  private loraInput(flat: tf.Tensor2D): tf.Tensor2D {
    const rate = this.lora?.dropout ?? 0;
    return this.dropoutSeed !== undefined && rate > 0
      ? (tf.dropout(flat, rate, undefined, this.dropoutSeed()) as tf.Tensor2D)
      : flat;
  }

  /** The trainable tensors: A and B. */
  adapterVariables(): tf.Variable[] {
    return this.loraA !== undefined && this.loraB !== undefined ? [this.loraA, this.loraB] : [];
  }

  dispose(): void {
    this.base.dispose();
    tf.dispose(this.adapterVariables());
  }
}
