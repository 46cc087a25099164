import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend';
import { blasAddon } from '../../src/backend/kernels/blas-addon';
import { slicedProduct } from '../../src/nn/sliced-product';
import { SeededRandom } from '../../src/util/seeded-random';
import { describeUnless } from '../support/describe-unless';

describeUnless(blasAddon().addon === undefined ? blasAddon().reason : undefined, 'the sliced product', () =>
  describe.each(['wasm', 'cpu'] as const)('on %s', (backend) => {
    beforeAll(() => selectBackend({ requested: backend, log: () => {} }));
    const random = new SeededRandom(5);

    it('equals x times the sliced weight, and so does its gradient, without copying the slice', () => {
      const weight = tf.tensor2d(random.normals(9 * 11, 1), [9, 11]);
      const x = tf.tensor2d(random.normals(4 * 6, 1), [4, 6]);
      const dy = tf.tensor2d(random.normals(4 * 7, 1), [4, 7]);
      const viaSlice = (input: tf.Tensor) => tf.sum(tf.mul(tf.matMul(input, tf.slice(weight, [0, 0], [6, 7])), dy));
      const sliced = (input: tf.Tensor) => {
        const y = slicedProduct(input as tf.Tensor2D, weight, 6, 7);
        if (y === undefined) throw new Error('no sliced product');
        return tf.sum(tf.mul(y, dy));
      };
      const [a, b] = [tf.valueAndGrad(sliced)(x), tf.valueAndGrad(viaSlice)(x)];
      expect(a.value.dataSync()[0]).toBeCloseTo(b.value.dataSync()[0], 4);
      const [ga, gb] = [a.grad.dataSync(), b.grad.dataSync()];
      expect(ga.length).toBe(4 * 6);
      ga.forEach((g, i) => expect(g).toBeCloseTo(gb[i], 5));
      const before = tf.memory().numTensors;
      tf.dispose(tf.tidy(() => tf.grad(sliced)(x)));
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([weight, x, dy, a.value, a.grad, b.value, b.grad]);
    });
  }),
);
