import * as tf from '@tensorflow/tfjs-core';
import { blasAddon, type BlasAddon } from '../backend/kernels/blas-addon';
import { filledHostTensors, hostMemoryBackend, hostView } from '../backend/host-view';

/**
 * The native addon where fused operations run on it: the backend's tensors in host memory (wasm,
 * cpu), the addon loaded, and none of the tensors the operation treats as frozen trainable (a
 * fused operation gives them no gradient). Else undefined, and callers compose the operation
 * from tfjs kernels.
 */
export function fusedAddon(frozen: tf.Tensor[] = []): BlasAddon | undefined {
  if (frozen.some((t) => t instanceof tf.Variable && t.trainable)) return undefined;
  return hostMemoryBackend() ? blasAddon().addon : undefined;
}

/**
 * An operation over same-shaped float32 inputs as one step with its own gradient, both computed
 * on host arrays. `forward(values, out)` writes the output and `backward(values, dy, grads)` each
 * input's gradient, `values` being the inputs' then the frozen tensors' (a norm's weight: read,
 * given no gradient). The gradient keeps only these, where tfjs's composition of the operation
 * keeps each of its kernels' intermediates.
 */
export function hostFused(
  inputs: tf.Tensor[],
  frozen: tf.Tensor[],
  forward: (values: Float32Array[], out: Float32Array) => void,
  backward: (values: Float32Array[], dy: Float32Array, grads: Float32Array[]) => void,
): tf.Tensor {
  const shape = inputs[0].shape;
  for (const input of inputs) tf.util.assertShapesMatch(input.shape, shape, 'fused operation inputs:');
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args.pop() as tf.GradSaveFunc;
    const values = [...(args as tf.Tensor[]), ...frozen];
    // Saved, the frozen tensors outlive a scope that made them before the backward runs.
    save(values);
    return {
      value: filledHostTensors([shape], ([out]) => forward(values.map(hostView), out))[0],
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        filledHostTensors(
          inputs.map(() => shape),
          (grads) => backward(saved.map(hostView), hostView(dy), grads),
        ),
    };
  });
  return op(...inputs);
}
