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
      const segmentSum = () => tf.unsortedSegmentSum(x, ids, vocab);
      const shape = { tokens, width, vocab };
      // The stock cpu kernel takes seconds, so one run without warm-up; wasm has no stock kernel.
      if (backend === 'cpu') {
        const stock = withStockKernels('cpu', () => timeMedian(segmentSum, 1, 0));
        yield { bench: 'segment-sum', backend, kernel: 'stock', ...shape, ...stock };
      }
      yield { bench: 'segment-sum', backend, kernel: 'lonas', ...shape, ...timeMedian(segmentSum, 15) };
      tf.dispose([x, ids]);
    }
  },
};
