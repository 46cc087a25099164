import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend';
import { mergeHeads } from '../../src/nn/attention';
import { blasAddon } from '../../src/backend/kernels/blas-addon';
import { RotaryEmbedding, rotateHeads } from '../../src/nn/rotary';

/** Rotary embedding composed from tfjs kernels, as Hugging Face writes it: x cos + rotate_half(x) sin. */
function composed(x: tf.Tensor4D, positions: number[][], headDim: number, theta: number): tf.Tensor {
  const [batch, , time] = x.shape;
  const half = headDim / 2;
  const angles = positions
    .flat()
    .map((p) => Array.from({ length: headDim }, (_, c) => p * theta ** ((-2 * (c % half)) / headDim)));
  const cos = tf.reshape(tf.tensor(angles.map((row) => row.map(Math.cos))), [batch, 1, time, headDim]);
  const sin = tf.reshape(tf.tensor(angles.map((row) => row.map(Math.sin))), [batch, 1, time, headDim]);
  const [first, second] = tf.split(x, 2, 3);
  return tf.add(tf.mul(x, cos), tf.mul(tf.concat([tf.neg(second), first], 3), sin));
}

describe('RotaryEmbedding (one host pass each way)', () => {
  beforeAll(async () => {
    await selectBackend({ requested: 'wasm', log: () => {} });
  });
  const [headDim, theta] = [8, 10000];
  const rotary = new RotaryEmbedding(headDim, 64, theta);
  const positions = [
    [0, 1, 2, 3, 4],
    [7, 8, 9, 10, 63],
  ];

  it('equals the tfjs composition on [batch, time, heads * headDim], and so has its gradient', () => {
    const x = tf.randomNormal([2, 3, 5, headDim], 0, 1, 'float32', 5) as tf.Tensor4D;
    const ids = tf.tensor2d(positions, undefined, 'int32');
    const weights = tf.randomNormal([2, 5, 3 * headDim], 0, 1, 'float32', 6);
    const reference = mergeHeads(composed(x, positions, headDim, theta));
    const fast = rotary.apply(mergeHeads(x), ids);
    expect(tf.max(tf.abs(tf.sub(fast, reference))).dataSync()[0]).toBeLessThan(1e-5);
    const gradOf = (f: (t: tf.Tensor4D) => tf.Tensor) =>
      tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t as tf.Tensor4D), weights)))(x);
    const [g1, g2] = [
      gradOf((t) => rotary.apply(mergeHeads(t), ids)),
      gradOf((t) => mergeHeads(composed(t, positions, headDim, theta))),
    ];
    expect(tf.max(tf.abs(tf.sub(g1, g2))).dataSync()[0]).toBeLessThan(1e-5);
  });

  it('rejects positions past max_position_embeddings', () => {
    const x = tf.zeros([1, 1, headDim]) as tf.Tensor3D;
    expect(() => rotary.apply(x, tf.tensor2d([[64]], undefined, 'int32'))).toThrow(/outside \[0, 64\)/);
  });

  it('rotates the same on the addon and in JS, in place or into another array', () => {
    const width = 3 * headDim;
    const ids = Int32Array.from(positions.flat());
    const x = Float32Array.from({ length: ids.length * width }, (_, i) => Math.sin(i * 1.7));
    const rotatedBy = (sign: 1 | -1, off: boolean) => {
      const before = process.env.LONAS_BLAS;
      if (off) process.env.LONAS_BLAS = 'off';
      try {
        const out = new Float32Array(x.length);
        rotateHeads(rotary, x, ids, width, sign, out);
        const inPlace = x.slice();
        rotateHeads(rotary, inPlace, ids, width, sign, inPlace);
        expect(inPlace).toEqual(out);
        return out;
      } finally {
        if (before === undefined) delete process.env.LONAS_BLAS;
        else process.env.LONAS_BLAS = before;
      }
    };
    if (blasAddon().addon === undefined) {
      console.warn('skipped the addon side: the native addon is not built (no libopenblas-dev)');
      return;
    }
    for (const sign of [1, -1] as const) {
      const [native, js] = [rotatedBy(sign, false), rotatedBy(sign, true)];
      expect(Math.max(...native.map((v, i) => Math.abs(v - js[i])))).toBeLessThan(1e-6);
    }
    // The opposite rotation undoes it.
    const back = new Float32Array(x.length);
    rotateHeads(rotary, rotatedBy(1, false), ids, width, -1, back);
    expect(Math.max(...back.map((v, i) => Math.abs(v - x[i])))).toBeLessThan(1e-5);
  });

  it('has the addon refuse a position outside its tables, naming the operation', () => {
    const addon = blasAddon().addon;
    if (addon === undefined) {
      console.warn('skipped: the native addon is not built (no libopenblas-dev)');
      return;
    }
    const x = new Float32Array(headDim);
    expect(() => addon.rotary(x, headDim, headDim, rotary.cos, rotary.sin, Int32Array.of(64), 1, x)).toThrow(
      /rotary: .*outside the tables/,
    );
  });
});
