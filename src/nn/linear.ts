import * as tf from '@tensorflow/tfjs-core';

/** What every linear layer offers, plain or wrapped (an elastic LoRA wrapper is one too). */
export interface LinearLayer {
  /** The layer's Hugging Face module path, e.g. `model.layers.3.mlp.gate_proj`. */
  readonly path: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** x [..., inFeatures] -> [..., outFeatures]. */
  forward(x: tf.Tensor): tf.Tensor;
  /** Frees the layer's tensors. */
  dispose(): void;
}

/**
 * y = x W + b, with W kept as [in, out] (the transpose of PyTorch's [out, in]) so the forward
 * product needs no transpose. Activations are flattened to 2-d first: tfjs's matMul gradient
 * cannot reduce a batch broadcast against a matrix.
 */
export class Linear implements LinearLayer {
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(
    readonly path: string,
    /** [in, out]. */
    readonly weight: tf.Tensor2D,
    readonly bias?: tf.Tensor1D,
  ) {
    [this.inFeatures, this.outFeatures] = weight.shape;
  }

  /** Builds a layer from a PyTorch-layout weight [out, in]. */
  static fromTorch(path: string, weight: tf.Tensor2D, bias?: tf.Tensor1D): Linear {
    const transposed = tf.transpose(weight);
    weight.dispose();
    return new Linear(path, transposed, bias);
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const flat = tf.reshape(x, [-1, this.inFeatures]);
      let y = tf.matMul(flat, this.weight);
      if (this.bias !== undefined) y = tf.add(y, this.bias);
      return tf.reshape(y, [...x.shape.slice(0, -1), this.outFeatures]);
    });
  }

  dispose(): void {
    tf.dispose([this.weight, ...(this.bias === undefined ? [] : [this.bias])]);
  }
}

/** The linear layers of a model by module path: looked up by forward code, replaced by wrappers. */
export class LinearRegistry {
  private readonly layers = new Map<string, LinearLayer>();

  add(layer: LinearLayer): LinearLayer {
    if (this.layers.has(layer.path)) throw new Error(`linear layer '${layer.path}' is registered twice`);
    this.layers.set(layer.path, layer);
    return layer;
  }

  get(path: string): LinearLayer {
    const layer = this.layers.get(path);
    if (layer === undefined) throw new Error(`the model has no linear layer '${path}'`);
    return layer;
  }

  /** Puts `layer` in place of the one at its path (which must exist and keep its shape). */
  replace(layer: LinearLayer): void {
    const current = this.get(layer.path);
    if (current.inFeatures !== layer.inFeatures || current.outFeatures !== layer.outFeatures) {
      throw new Error(
        `'${layer.path}' is [${current.inFeatures} -> ${current.outFeatures}]; ` +
          `its replacement is [${layer.inFeatures} -> ${layer.outFeatures}]`,
      );
    }
    this.layers.set(layer.path, layer);
  }

  paths(): string[] {
    return [...this.layers.keys()];
  }

  entries(): IterableIterator<[string, LinearLayer]> {
    return this.layers.entries();
  }

  dispose(): void {
    for (const layer of this.layers.values()) layer.dispose();
  }
}
