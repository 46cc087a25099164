import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { selectBackend, withStockKernels } from '../../src/backend';

const backends = ['cpu', 'wasm'] as const;

async function onBackend<T>(name: (typeof backends)[number], body: () => T): Promise<T> {
  await selectBackend({ requested: name, log: () => {} });
  return body();
}

describe('UnsortedSegmentSum', () => {
  for (const name of backends) {
    describe(`on ${name}`, () => {
      beforeAll(() => selectBackend({ requested: name, log: () => {} }));

      it('sums rows into their segments', () => {
        const x = tf.tensor2d([
          [1, 2],
          [3, 4],
          [5, 6],
        ]);
        const sums = tf.unsortedSegmentSum(x, tf.tensor1d([2, 0, 2], 'int32'), 3);
        expect(sums.arraySync()).toEqual([
          [3, 4],
          [0, 0],
          [6, 8],
        ]);
      });

      it('skips ids outside [0, numSegments)', () => {
        const sums = tf.unsortedSegmentSum(tf.tensor1d([1, 10, 100, 1000]), tf.tensor1d([-1, 1, 5, 1], 'int32'), 2);
        expect(Array.from(sums.dataSync())).toEqual([0, 1010]);
      });

      it('keeps int32 values int32', () => {
        const sums = tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3], 'int32'), tf.tensor1d([0, 0, 1], 'int32'), 2);
        expect(sums.dtype).toBe('int32');
        expect(Array.from(sums.dataSync())).toEqual([3, 3]);
      });

      it('takes segment ids shaped like a prefix of x', () => {
        const x = tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]);
        const segmentIds = tf.tensor2d([0, 1, 1, 0], [2, 2], 'int32');
        // The op's typings say rank 1; the kernel, like TensorFlow's, takes any prefix of x's shape.
        const sums = tf.engine().runKernel(tf.UnsortedSegmentSum, { x, segmentIds }, { numSegments: 2 }) as tf.Tensor;
        expect(sums.arraySync()).toEqual([
          [8, 10],
          [8, 10],
        ]);
      });

      it('refuses segment ids that do not match x, naming both shapes', () => {
        expect(() => tf.unsortedSegmentSum(tf.zeros([3, 2]), tf.tensor1d([0, 1], 'int32'), 2)).toThrow(
          'segmentIds shape [2] must be a prefix of x shape [3,2]',
        );
      });

      it('makes gather (an embedding lookup) trainable', () => {
        const table = tf.tensor2d([
          [1, 1],
          [2, 2],
          [3, 3],
        ]);
        const ids = tf.tensor2d([0, 2, 2, 2], [2, 2], 'int32');
        const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.gather(t, ids)))(table);
        expect(grad.arraySync()).toEqual([
          [1, 1],
          [0, 0],
          [3, 3],
        ]);
      });
    });
  }

  it('agrees between cpu and wasm, and with the stock cpu kernel, on random data', async () => {
    const x = tf.randomNormal([200, 3, 5], 0, 1, 'float32', 7);
    const ids = tf.randomUniform([200], -2, 40, 'int32', 8) as tf.Tensor1D;
    const wasm = await onBackend('wasm', () => tf.unsortedSegmentSum(x, ids, 37).dataSync());
    const cpu = await onBackend('cpu', () => tf.unsortedSegmentSum(x, ids, 37).dataSync());
    const stock = withStockKernels('cpu', () => tf.unsortedSegmentSum(x, ids, 37).dataSync());
    for (let i = 0; i < cpu.length; i++) {
      expect(wasm[i]).toBeCloseTo(cpu[i], 5);
      expect(stock[i]).toBeCloseTo(cpu[i], 5);
    }
  });

  it('gives wasm and cpu the same embedding gradient', async () => {
    const table = tf.randomNormal([50, 8], 0, 1, 'float32', 9);
    const ids = tf.randomUniform([4, 16], 0, 50, 'int32', 10);
    const upstream = tf.randomNormal([4, 16, 8], 0, 1, 'float32', 11);
    const grad = () =>
      tf
        .grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), upstream)))(table)
        .dataSync();
    const wasm = await onBackend('wasm', grad);
    const cpu = await onBackend('cpu', grad);
    for (let i = 0; i < cpu.length; i++) expect(wasm[i]).toBeCloseTo(cpu[i], 5);
  });
});
