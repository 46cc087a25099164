import * as tf from '@tensorflow/tfjs-core';

/**
 * Rotary position embeddings in Hugging Face's layout: dimension j of a head rotates with
 * dimension j + headDim / 2 at frequency theta^(-2j / headDim). (Checkpoints that pair
 * neighbouring dimensions instead, such as llama2.c's, are permuted to this layout on load.)
 */
export class RotaryEmbedding {
  private readonly cos: tf.Tensor2D;
  private readonly sin: tf.Tensor2D;

  constructor(
    readonly headDim: number,
    readonly maxPositions: number,
    theta: number,
  ) {
    const half = headDim / 2;
    const cos = new Float32Array(maxPositions * headDim);
    const sin = new Float32Array(maxPositions * headDim);
    for (let position = 0; position < maxPositions; position++) {
      for (let j = 0; j < half; j++) {
        const angle = position * theta ** ((-2 * j) / headDim);
        for (const column of [j, j + half]) {
          cos[position * headDim + column] = Math.cos(angle);
          sin[position * headDim + column] = Math.sin(angle);
        }
      }
    }
    this.cos = tf.tensor2d(cos, [maxPositions, headDim]);
    this.sin = tf.tensor2d(sin, [maxPositions, headDim]);
  }

  /** Rotates x [batch, heads, time, headDim] by the positions [batch, time]. */
  apply(x: tf.Tensor4D, positionIds: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => {
      const [batch, , time] = x.shape;
      const cos = tf.reshape(tf.gather(this.cos, positionIds), [batch, 1, time, this.headDim]);
      const sin = tf.reshape(tf.gather(this.sin, positionIds), [batch, 1, time, this.headDim]);
      const [first, second] = tf.split(x, 2, 3);
      const rotated = tf.concat([tf.neg(second), first], 3);
      return tf.add(tf.mul(x, cos), tf.mul(rotated, sin)) as tf.Tensor4D;
    });
  }

  dispose(): void {
    tf.dispose([this.cos, this.sin]);
  }
}
