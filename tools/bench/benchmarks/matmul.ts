import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, withStockKernels } from '../../../src/backend';
import { blasAddon } from '../../../src/backend/kernels/blas-addon';
import { timeInterleaved, timeMedian, type Benchmark, type BenchRecord } from '../measure';

type Case = [name: string, a: number[], b: number[], transposeA: boolean, transposeB: boolean];

/** The reference every other case is compared with: a linear layer's forward product. */
const plain: Case = ['plain (linear forward)', [1024, 256], [256, 256], false, false];

/**
 * The products of a transformer layer's forward and backward pass (1024 tokens, width 256,
 * 32 attention heads' worth of 128 x 64 blocks), generic batched products, and one product of
 * the size that dominates a large model's step.
 */
const cases: Case[] = [
  ['transposeB (linear input gradient)', [1024, 256], [256, 256], false, true],
  ['transposeA (linear weight gradient)', [1024, 256], [1024, 256], true, false],
  ['transposeA+B', [256, 1024], [256, 256], true, true],
  ['batch x matrix (3-d activations)', [4, 256, 256], [256, 256], false, false],
  ['batch, 256 rows', [4, 256, 256], [4, 256, 256], false, false],
  ['batch, 64 rows', [16, 64, 256], [16, 256, 256], false, false],
  ['attention scores Q K^T', [32, 128, 64], [32, 128, 64], false, true],
  ['attention context P V', [32, 128, 128], [32, 128, 64], false, false],
  ['attention dV = P^T dC', [32, 128, 128], [32, 128, 64], true, false],
  ['attention dK = dS^T Q', [32, 128, 128], [32, 128, 64], true, false],
  // A 370M LLaMA's gate projection over bench scale's 512 tokens: the size where a step is products.
  ['LLaMA-370M gate projection', [512, 1024], [1024, 2816], false, false],
];

function flops([, a, b, tA, tB]: Case): number {
  const m = tA ? a[a.length - 1] : a[a.length - 2];
  const k = tA ? a[a.length - 2] : a[a.length - 1];
  const n = tB ? b[b.length - 2] : b[b.length - 1];
  const batch = Math.max(a.length > 2 ? a[0] : 1, b.length > 2 ? b[0] : 1);
  return 2 * batch * m * k * n;
}

/** OpenBLAS's threads, where the addon serves the products (LONAS_BENCH_THREADS, default 1, as every bench). */
const threads = Number(process.env.LONAS_BENCH_THREADS ?? 1);

const gflops = (c: Case, ms: number) => Number((flops(c) / (ms * 1e6)).toFixed(2));

function operands([, aShape, bShape, tA, tB]: Case) {
  const a = tf.randomNormal(aShape, 0, 1, 'float32', 1);
  const b = tf.randomNormal(bShape, 0, 1, 'float32', 2);
  return { product: () => tf.matMul(a, b, tA, tB), dispose: () => tf.dispose([a, b]) };
}

export const matmulBenchmark: Benchmark = {
  name: 'matmul',
  description: 'matMul GFLOP/s per backend and transpose/batch case: stock tfjs kernels against lonas kernels',
  async *run() {
    for (const backend of ['wasm', 'cpu'] as const) {
      await selectBackend({ requested: backend, log: () => {} });
      blasAddon().addon?.setThreads(threads);
      const reference = operands(plain);
      const stockRuns = backend === 'cpu' ? 3 : 5;
      const record = (c: Case, kernel: string, ms: number, extra: BenchRecord = {}): BenchRecord => ({
        bench: 'matmul',
        backend,
        threads,
        kernel,
        case: c[0],
        a: c[1],
        b: c[2],
        median_ms: ms,
        gflops: gflops(c, ms),
        ...extra,
      });
      yield record(
        plain,
        'stock',
        withStockKernels(backend, () => timeMedian(reference.product, stockRuns, 1)).median_ms,
      );
      // cpu's BatchMatMul is lonas's only where the addon serves it (OpenBLAS); else the stock rows are cpu's.
      const patched = backend === 'wasm' || blasAddon().addon !== undefined;
      if (patched) yield record(plain, 'lonas', timeMedian(reference.product, 15).median_ms);
      const ratios: Array<[string, number]> = [];
      for (const c of cases) {
        const work = operands(c);
        yield record(c, 'stock', withStockKernels(backend, () => timeMedian(work.product, stockRuns, 1)).median_ms);
        if (patched) {
          const [plainTime, caseTime] = timeInterleaved([reference.product, work.product], 15);
          const ratio = gflops(plain, plainTime.median_ms) / gflops(c, caseTime.median_ms);
          ratios.push([c[0], ratio]);
          yield record(c, 'lonas', caseTime.median_ms, {
            plain_gflops_alongside: gflops(plain, plainTime.median_ms),
            plain_over_case: Number(ratio.toFixed(2)),
          });
        }
        work.dispose();
      }
      reference.dispose();
      if (ratios.length > 0) {
        const worst = ratios.reduce((w, r) => (r[1] > w[1] ? r : w));
        yield {
          bench: 'matmul-summary',
          backend,
          kernel: 'lonas',
          cases: ratios.length,
          cases_within_2x_of_plain: ratios.filter(([, r]) => r <= 2).length,
          slowest_case: worst[0],
          plain_over_slowest: Number(worst[1].toFixed(2)),
        };
      }
    }
  },
};
