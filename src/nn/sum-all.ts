import * as tf from '@tensorflow/tfjs-core';
import { hostMemoryBackend } from '../backend/host-view';

/**
 * Inputs per AddN: a GPU kernel binds each input as a storage buffer, and adapters allow as few
 * as 8 a shader stage (tfjs's webgpu AddN with more fails validation and computes nothing).
 */
const ADD_N_INPUTS = 7;

/**
 * The sum of same-shaped tensors (not disposed): one AddN in host memory, where it has no limit
 * (so wasm and cpu keep their exact results), AddNs of a few inputs each on a GPU.
 */
export function sumAll(tensors: tf.Tensor[]): tf.Tensor {
  if (hostMemoryBackend()) return tf.addN(tensors);
  return tf.tidy(() => {
    let level = tensors;
    while (level.length > 1) {
      const next: tf.Tensor[] = [];
      for (let i = 0; i < level.length; i += ADD_N_INPUTS) {
        const group = level.slice(i, i + ADD_N_INPUTS);
        next.push(group.length === 1 ? group[0] : tf.addN(group));
      }
      level = next;
    }
    return level[0].clone();
  });
}
