import * as tf from '@tensorflow/tfjs-core';

/** LayerNorm over the last axis: (x - mean) / sqrt(var + eps) * weight + bias. */
export class LayerNorm {
  constructor(
    readonly weight: tf.Tensor1D,
    readonly bias: tf.Tensor1D,
    readonly eps: number,
  ) {}

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      const normalised = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps)));
      return tf.add(tf.mul(normalised, this.weight), this.bias);
    });
  }
}

/** RMSNorm (LLaMA): x / sqrt(mean(x^2) + eps) * weight. */
export class RMSNorm {
  constructor(
    readonly weight: tf.Tensor1D,
    readonly eps: number,
  ) {}

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const meanSquare = tf.mean(tf.square(x), -1, true);
      return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, this.eps))), this.weight);
    });
  }
}
