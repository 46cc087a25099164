import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, withStockKernels } from '../../../src/backend';
import { timeMedian, type Benchmark } from '../measure';

/** The embedding gradient of a batch of 8 x 256 tokens over a 512-token vocabulary, width 64. */
export const segmentSumBenchmark: Benchmark = {
  name: 'segment-sum',
  description: 'UnsortedSegmentSum (the gradient of gather/embeddings): stock cpu kernel against lonas kernels',
  async *run() {
    const [tokens, width, vocab] = [2048, 64, 512];
    for (const backend of ['cpu', 'wasm'] as const) {
      await selectBackend({ requested: backend, log: () => {} });
      const x = tf.randomNormal([tokens, width], 0, 1, 'float32', 1);
      const ids = tf.randomUniform([tokens], 0, vocab, 'int32', 2) as tf.Tensor1D;
      const measure = () => timeMedian(() => tf.unsortedSegmentSum(x, ids, vocab), backend === 'cpu' ? 3 : 15, 1);
      // wasm has no stock kernel for it at all.
      if (backend === 'cpu')
        yield {
          bench: 'segment-sum',
          backend,
          kernel: 'stock',
          tokens,
          width,
          vocab,
          ...withStockKernels('cpu', measure),
        };
      yield { bench: 'segment-sum', backend, kernel: 'lonas', tokens, width, vocab, ...measure() };
      tf.dispose([x, ids]);
    }
  },
};
