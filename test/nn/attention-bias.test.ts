import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend';
import { attentionBias, MASKED } from '../../src/nn/attention';

describe('attentionBias', () => {
  beforeAll(async () => {
    await selectBackend({ requested: 'wasm', log: () => {} });
  });

  const M = MASKED;

  it('hides later keys from each query, counting cached positions as past', () => {
    // 2 new queries after 1 cached position: query 0 sees keys 0-1, query 1 sees keys 0-2.
    const bias = attentionBias(undefined, 1, 2, 3, true);
    expect(bias.shape).toEqual([1, 1, 2, 3]);
    expect(Array.from(bias.dataSync())).toEqual([0, 0, M, 0, 0, 0]);
    bias.dispose();
  });

  it('hides padding keys per batch row, with or without the causal rule', () => {
    const mask = tf.tensor2d(
      [
        [0, 1, 1],
        [1, 1, 1],
      ],
      undefined,
      'int32',
    );
    const encoder = attentionBias(mask, 2, 3, 3, false);
    expect(Array.from(encoder.dataSync())).toEqual([M, 0, 0, M, 0, 0, M, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const causal = attentionBias(mask, 2, 3, 3, true);
    expect(Array.from(causal.dataSync())).toEqual([M, M, M, M, 0, M, M, 0, 0, 0, M, M, 0, 0, M, 0, 0, 0]);
    tf.dispose([mask, encoder, causal]);
  });
});
