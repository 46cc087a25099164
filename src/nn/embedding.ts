import * as tf from '@tensorflow/tfjs-core';

/** A lookup table [vocab, dim]; ids [...] -> [..., dim]. */
export class Embedding {
  readonly count: number;
  readonly dim: number;

  constructor(readonly weight: tf.Tensor2D) {
    [this.count, this.dim] = weight.shape;
  }

  forward(ids: tf.Tensor): tf.Tensor {
    return tf.gather(this.weight, ids);
  }
}
