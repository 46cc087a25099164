import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend';

describe('wasm Identity by shared data', () => {
  beforeAll(async () => {
    await selectBackend({ requested: 'wasm', log: () => {} });
  });

  it('clones keep their values after the original is disposed, and free the data with the last', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const dataIds = tf.backend().numDataIds();
    const copy = tf.clone(x);
    expect(tf.backend().numDataIds()).toBe(dataIds);
    x.dispose();
    expect(Array.from(copy.dataSync())).toEqual([1, 2, 3]);
    copy.dispose();
    expect(tf.backend().numDataIds()).toBe(dataIds - 1);
  });

  it('leaves a variable assigned from a clone independent of it', () => {
    const v = tf.variable(tf.tensor1d([1, 2]));
    const snapshot = tf.clone(v);
    v.assign(tf.tensor1d([5, 6]));
    expect(Array.from(snapshot.dataSync())).toEqual([1, 2]);
    expect(Array.from(v.dataSync())).toEqual([5, 6]);
    tf.dispose([v, snapshot]);
  });
});
