import * as tf from '@tensorflow/tfjs-core';
import { blasAddon } from '../backend/kernels/blas-addon';
import { filledHostTensors, hostMemoryBackend, hostView } from '../backend/host-view';

/**
 * Rotary position embeddings in Hugging Face's layout: dimension j of a head rotates with
 * dimension j + headDim / 2 at frequency theta^(-2j / headDim). (Checkpoints that pair
 * neighbouring dimensions instead, such as llama2.c's, are permuted to this layout on load.)
 */
export class RotaryEmbedding {
  /** cos and sin of every position's angles, [maxPositions, headDim] row-major. */
  readonly cos: Float32Array;
  readonly sin: Float32Array;
  /**
   * y = x cos + rotate_half(x) sin and its gradient, one host pass each way: tfjs composes it
   * from split, concat, two products and a sum, and its wasm split and concat copy element by
   * element, which made them the costliest kernels of a LLaMA training step.
   */
  private readonly rotate: (x: tf.Tensor3D, positions: tf.Tensor2D) => tf.Tensor3D;
  /** cos and sin as tensors, for backends whose tensors host code cannot read (made on first use). */
  private tables?: { cos: tf.Tensor2D; sin: tf.Tensor2D };

  constructor(
    readonly headDim: number,
    readonly maxPositions: number,
    theta: number,
  ) {
    const half = headDim / 2;
    this.cos = new Float32Array(maxPositions * headDim);
    this.sin = new Float32Array(maxPositions * headDim);
    for (let position = 0; position < maxPositions; position++) {
      for (let j = 0; j < half; j++) {
        const angle = position * theta ** ((-2 * j) / headDim);
        for (const column of [j, j + half]) {
          this.cos[position * headDim + column] = Math.cos(angle);
          this.sin[position * headDim + column] = Math.sin(angle);
        }
      }
    }
    this.rotate = tf.customGrad(((x: tf.Tensor3D, positions: tf.Tensor2D, save: tf.GradSaveFunc) => {
      save([positions]);
      return {
        value: this.rotated(x, positions, 1),
        // The rotation's transpose is the rotation by the opposite angles.
        gradFunc: (dy: tf.Tensor3D, [saved]: tf.Tensor[]) => [
          this.rotated(dy, saved as tf.Tensor2D, -1),
          tf.zerosLike(saved),
        ],
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as typeof this.rotate;
  }

  /** x [batch, time, heads * headDim] with every head rotated by angle sign * theta(position), on the host. */
  private rotated(x: tf.Tensor3D, positions: tf.Tensor2D, sign: 1 | -1): tf.Tensor3D {
    const ids = Int32Array.from(positions.dataSync());
    const [rotated] = filledHostTensors([x.shape], ([out]) =>
      rotateHeads(this, hostView(x), ids, x.shape[2], sign, out),
    );
    return rotated as tf.Tensor3D;
  }

  /**
   * The same rotation in tfjs operations, for a GPU's tensors: the table rows of the positions,
   * and rotate_half as a slice and a concat. Positions are checked where they are made (no read back).
   */
  private rotateOnDevice(x: tf.Tensor3D, positions: tf.Tensor2D): tf.Tensor3D {
    const [batch, time, width] = x.shape;
    const headDim = this.headDim;
    this.tables ??= {
      cos: tf.keep(tf.tensor2d(this.cos, [this.maxPositions, headDim])),
      sin: tf.keep(tf.tensor2d(this.sin, [this.maxPositions, headDim])),
    };
    const { cos, sin } = this.tables;
    return tf.tidy(() => {
      const rows = tf.reshape(positions, [batch * time]);
      const at = (table: tf.Tensor2D) => tf.reshape(tf.gather(table, rows), [batch, time, 1, headDim]);
      const half = headDim / 2;
      const heads = tf.reshape(x, [batch, time, width / headDim, headDim]);
      const rotated = tf.concat(
        [tf.neg(tf.slice(heads, [0, 0, 0, half], -1)), tf.slice(heads, 0, [-1, -1, -1, half])],
        3,
      );
      return tf.reshape(tf.add(tf.mul(heads, at(cos)), tf.mul(rotated, at(sin))), x.shape);
    });
  }

  /**
   * Rotates x [batch, time, heads * headDim] (the projections' layout, so heads need no
   * transpose) by the positions [batch, time].
   */
  apply(x: tf.Tensor3D, positionIds: tf.Tensor2D): tf.Tensor3D {
    const [batch, time] = x.shape;
    const limit = this.maxPositions;
    if (positionIds.shape[0] !== batch || positionIds.shape[1] !== time) {
      throw new Error(`rotary: position ids [${positionIds.shape}] do not match [batch ${batch}, time ${time}]`);
    }
    if (!hostMemoryBackend()) return this.rotateOnDevice(x, positionIds);
    if (positionIds.dataSync().some((p) => p < 0 || p >= limit)) {
      throw new Error(`rotary: a position is outside [0, ${limit}) (max_position_embeddings)`);
    }
    return this.rotate(x, positionIds);
  }

  /** Frees the device tables, if any were made. */
  dispose(): void {
    if (this.tables !== undefined) tf.dispose([this.tables.cos, this.tables.sin]);
    this.tables = undefined;
  }
}

/**
 * Rotates each head of each row of `x` [rows, width] by angle sign * theta(positions[row]) into
 * `out` (which may be x), on the native addon where it is loaded, else in JS. Positions must lie
 * in the tables.
 */
export function rotateHeads(
  tables: { headDim: number; cos: Float32Array; sin: Float32Array },
  x: Float32Array,
  positions: Int32Array,
  width: number,
  sign: 1 | -1,
  out: Float32Array,
): void {
  const { headDim, cos, sin } = tables;
  const addon = blasAddon().addon;
  if (addon !== undefined) {
    addon.rotary(x, width, headDim, cos, sin, positions, sign, out);
    return;
  }
  const half = headDim / 2;
  for (let row = 0; row < positions.length; row++) {
    const table = positions[row] * headDim;
    for (let start = row * width; start < (row + 1) * width; start += headDim) {
      for (let j = 0; j < half; j++) {
        const x1 = x[start + j];
        const x2 = x[start + j + half];
        const c = cos[table + j];
        const s = sign * sin[table + j];
        out[start + j] = x1 * c - x2 * s;
        out[start + j + half] = x2 * c + x1 * s;
      }
    }
  }
}
