import type * as tf from '@tensorflow/tfjs-core';

/** A scalar's value, read back without blocking (a GPU's too); the scalar is disposed. */
export async function readScalar(scalar: tf.Tensor): Promise<number> {
  try {
    return (await scalar.data())[0];
  } finally {
    scalar.dispose();
  }
}
