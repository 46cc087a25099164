import * as tf from '@tensorflow/tfjs-core';
import { blasAddon } from '../backend/kernels/blas-addon';
import { hostMemoryBackend, hostView } from '../backend/host-view';

const addon = blasAddon().addon;

/**
 * x [m, in] times the block W[:in, :out] of a frozen weight W [IN, OUT], read in place by
 * OpenBLAS with W's row stride, with its gradient dx = dy W[:in, :out]^T read the same way:
 * a subnetwork's narrower layer needs no copy of its slice of the weight, in the step or kept
 * for the backward pass. Undefined where that path is not there (no addon, or a backend whose
 * tensors are not in host memory): the caller slices instead.
 */
export function slicedProduct(x: tf.Tensor2D, weight: tf.Tensor2D, inFeatures: number, outFeatures: number) {
  if (addon === undefined || !hostMemoryBackend()) return undefined;
  const [rows] = x.shape;
  const stride = weight.shape[1];
  const product = tf.customGrad(((input: tf.Tensor2D) => {
    const y = new Float32Array(rows * outFeatures);
    addon.sgemm(
      rows,
      outFeatures,
      inFeatures,
      hostView(input),
      0,
      inFeatures,
      hostView(weight),
      0,
      stride,
      y,
      0,
      outFeatures,
      0,
      false,
    );
    return {
      value: tf.tensor2d(y, [rows, outFeatures]),
      gradFunc: (dy: tf.Tensor2D) => {
        const dx = new Float32Array(rows * inFeatures);
        const dyValues = hostView(dy);
        addon.sgemm(
          rows,
          inFeatures,
          outFeatures,
          dyValues,
          0,
          outFeatures,
          hostView(weight),
          0,
          stride,
          dx,
          0,
          inFeatures,
          0,
          true,
        );
        return tf.tensor2d(dx, [rows, inFeatures]);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (input: tf.Tensor2D) => tf.Tensor2D;
  return product(x);
}
