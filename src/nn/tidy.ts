import * as tf from '@tensorflow/tfjs-core';

/**
 * tf.tidy for results shaped as typed objects (tfjs's typings accept only index-signature
 * containers): every tensor reachable from the result is kept, all others made inside are freed.
 */
export function tidy<T>(fn: () => T): T {
  return tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as T;
}
