import * as tf from '@tensorflow/tfjs-core';
import { fusedAddon, hostFused } from './host-fused';

/**
 * LayerNorm over the last axis: (x - mean) / sqrt(var + eps) * weight + bias; one operation where
 * the native addon runs it and weight and bias are frozen.
 */
export class LayerNorm {
  constructor(
    readonly weight: tf.Tensor1D,
    readonly bias: tf.Tensor1D,
    readonly eps: number,
  ) {}

  forward(x: tf.Tensor): tf.Tensor {
    const addon = fusedAddon([this.weight, this.bias]);
    if (addon !== undefined) {
      const width = x.shape[x.rank - 1];
      return hostFused(
        [x],
        [this.weight, this.bias],
        ([xs, weight, bias], out) => addon.layerNorm(xs, width, weight, bias, this.eps, out),
        ([xs, weight], dy, [dx]) => addon.layerNormGrad(xs, dy, width, weight, this.eps, dx),
      );
    }
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      const normalised = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps)));
      return tf.add(tf.mul(normalised, this.weight), this.bias);
    });
  }
}

/**
 * RMSNorm (LLaMA): x / sqrt(mean(x^2) + eps) * weight; one operation where the native addon runs
 * it and the weight is frozen.
 */
export class RMSNorm {
  constructor(
    readonly weight: tf.Tensor1D,
    readonly eps: number,
  ) {}

  forward(x: tf.Tensor): tf.Tensor {
    const addon = fusedAddon([this.weight]);
    if (addon !== undefined) {
      const width = x.shape[x.rank - 1];
      return hostFused(
        [x],
        [this.weight],
        ([xs, weight], out) => addon.rmsNorm(xs, width, weight, this.eps, out),
        ([xs, weight], dy, [dx]) => addon.rmsNormGrad(xs, dy, width, weight, this.eps, dx),
      );
    }
    return tf.tidy(() => {
      const meanSquare = tf.mean(tf.square(x), -1, true);
      return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, this.eps))), this.weight);
    });
  }
}
