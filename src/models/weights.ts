import * as tf from '@tensorflow/tfjs-core';
import type { TensorValues } from '../io/safetensors';
import { Linear } from '../nn/linear';
import { LayerNorm } from '../nn/norms';

/** Where a checkpoint's tensors come from: one or more safetensors files, or a converted format. */
export interface WeightSource {
  /** Names the checkpoint in error messages (a folder or file path). */
  readonly description: string;
  names(): string[];
  read(name: string): TensorValues & { shape: number[] };
}

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/**
 * The tensors a model is built from, taken by Hugging Face state-dict name with the shape the
 * model expects. Checkpoints saved from a bare base model lack the task wrapper's prefix
 * (`bert.`, `transformer.`), and old BERT ones name LayerNorm parameters gamma/beta: both
 * spellings are accepted.
 */
export class Weights {
  private readonly available: Set<string>;

  constructor(
    readonly source: WeightSource,
    private readonly basePrefix = '',
  ) {
    this.available = new Set(source.names());
  }

  private spellings(name: string): string[] {
    const bare =
      this.basePrefix !== '' && name.startsWith(this.basePrefix) ? name.slice(this.basePrefix.length) : undefined;
    const legacy = (n: string) =>
      n.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta');
    return [name, bare, legacy(name), bare === undefined ? undefined : legacy(bare)].filter(
      (n): n is string => n !== undefined,
    );
  }

  has(name: string): boolean {
    return this.spellings(name).some((n) => this.available.has(n));
  }

  /** The tensor `name`, checked against `shape`; float32 unless the checkpoint stores integers. */
  take<R extends tf.Rank>(name: string, shape: number[]): tf.Tensor<R> {
    const found = this.spellings(name).find((n) => this.available.has(n));
    if (found === undefined) {
      throw new CheckpointError(`${this.source.description}: missing tensor '${name}' (expected shape [${shape}])`);
    }
    const values = this.source.read(found);
    if (!tf.util.arraysEqual(values.shape, shape)) {
      throw new CheckpointError(
        `${this.source.description}: tensor '${found}' has shape [${values.shape}], expected [${shape}]`,
      );
    }
    const tensor: tf.Tensor = tf.tensor(values.data, shape, values.dtype);
    return tensor as tf.Tensor<R>;
  }

  /** `name` if present, else undefined (optional tensors such as an untied lm_head). */
  maybeTake<R extends tf.Rank>(name: string, shape: number[]): tf.Tensor<R> | undefined {
    return this.has(name) ? this.take<R>(name, shape) : undefined;
  }

  /** The linear layer at `path` (weight [out, in], optional bias [out] in the checkpoint). */
  linear(path: string, inFeatures: number, outFeatures: number, bias: boolean): Linear {
    const weight = this.take<tf.Rank.R2>(`${path}.weight`, [outFeatures, inFeatures]);
    return Linear.fromTorch(path, weight, bias ? this.take<tf.Rank.R1>(`${path}.bias`, [outFeatures]) : undefined);
  }

  /** The LayerNorm `name` (weight and bias of `size`). */
  layerNorm(name: string, size: number, eps: number): LayerNorm {
    return new LayerNorm(this.take(`${name}.weight`, [size]), this.take(`${name}.bias`, [size]), eps);
  }
}
