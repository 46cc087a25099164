import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, withStockKernels } from '../../src/backend';

describe('wasm GatherV2 by slice copies', () => {
  beforeAll(async () => {
    await selectBackend({ requested: 'wasm', log: () => {} });
  });

  const cases: Array<[string, number[], number[], number, number, 'float32' | 'int32']> = [
    ['embedding rows (axis 0)', [50, 16], [3, 7], 0, 0, 'float32'],
    ['repeated and 2-d indices', [10, 4], [2, 5], 0, 0, 'float32'],
    ['a middle axis (key/value heads)', [2, 4, 3, 5], [8], 1, 0, 'float32'],
    ['the last axis', [3, 6], [4], 1, 0, 'float32'],
    ['batch dims', [3, 5, 2], [3, 4], 1, 1, 'float32'],
    ['int32 values', [20, 3], [6], 0, 0, 'int32'],
  ];

  it.each(cases)('%s: equals the stock kernel', (_name, shape, indexShape, axis, batchDims, dtype) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const x = tf.tensor(
      Array.from({ length: size }, (_, i) => (i * 7) % 13),
      shape,
      dtype,
    );
    const limit = shape[axis];
    const count = indexShape.reduce((a, b) => a * b, 1);
    const indices = tf.tensor(
      Array.from({ length: count }, (_, i) => (i * 5 + 1) % limit),
      indexShape,
      'int32',
    );
    const fast = tf.gather(x, indices, axis, batchDims);
    const stock = withStockKernels('wasm', () => tf.gather(x, indices, axis, batchDims));
    expect(fast.shape).toEqual(stock.shape);
    expect(fast.dtype).toBe(dtype);
    expect(Array.from(fast.dataSync())).toEqual(Array.from(stock.dataSync()));
    tf.dispose([x, indices, fast, stock]);
  });

  it('rejects an index out of range with the stock message', () => {
    expect(() => tf.gather(tf.zeros([3, 2]), tf.tensor1d([3], 'int32'))).toThrow(/index value 3 is not in \[0, 2\]/);
  });

  it('gives the gradient of a lookup: each row scattered back once per use', () => {
    const x = tf.randomNormal([12, 8], 0, 1, 'float32', 1);
    const indices = tf.tensor1d([3, 3, 0, 11], 'int32');
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.gather(t, indices))))(x);
    const uses = [2, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 2];
    const expected = tf.mul(x, tf.tensor2d(uses, [12, 1]));
    expect(tf.max(tf.abs(tf.sub(grad, expected))).dataSync()[0]).toBeLessThan(1e-6);
    tf.dispose([x, indices, grad, expected]);
  });
});
