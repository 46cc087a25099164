import * as tf from '@tensorflow/tfjs-core';
import { BatchMatMul, getKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { selectBackend, withStockKernels } from '../../src/backend';
import { broadcastBatchIndex } from '../../src/backend/kernels/batch-matmul-geometry';
import { blasAddon, type BlasAddon } from '../../src/backend/kernels/blas-addon';
import { cpuBlasBatchMatMulConfig, wasmBlasBatchMatMulConfig } from '../../src/backend/kernels/blas-batch-matmul';
import { withKernel } from '../../src/backend/kernels/register-kernel-patches';
import { wasmBatchMatMulConfig } from '../../src/backend/kernels/wasm-batch-matmul';
import { describeUnless } from '../support/describe-unless';

/** Independent reference: numpy-style batched matmul with broadcasting, in plain JavaScript. */
function referenceMatMul(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): tf.Tensor {
  const av = a.dataSync();
  const bv = b.dataSync();
  const [ar, br] = [a.rank, b.rank];
  const m = transposeA ? a.shape[ar - 1] : a.shape[ar - 2];
  const k = transposeA ? a.shape[ar - 2] : a.shape[ar - 1];
  const n = transposeB ? b.shape[br - 2] : b.shape[br - 1];
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const rank = Math.max(aBatch.length, bBatch.length);
  const pad = (s: number[]) => [...Array(rank - s.length).fill(1), ...s];
  const outBatch = pad(aBatch).map((d, i) => Math.max(d, pad(bBatch)[i]));
  const total = outBatch.reduce((x, y) => x * y, 1);
  const out = new Float32Array(total * m * n);
  const flat = (coords: number[], shape: number[]) =>
    coords.reduce((acc, c, i) => acc * shape[i] + (shape[i] === 1 ? 0 : c), 0);
  for (let i = 0; i < total; i++) {
    const coords: number[] = [];
    let rest = i;
    for (let d = rank - 1; d >= 0; d--) {
      coords.unshift(rest % outBatch[d]);
      rest = Math.floor(rest / outBatch[d]);
    }
    const ai = flat(coords.slice(rank - aBatch.length), aBatch) * m * k;
    const bi = flat(coords.slice(rank - bBatch.length), bBatch) * k * n;
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < n; c++) {
        let sum = 0;
        for (let p = 0; p < k; p++) {
          const x = av[ai + (transposeA ? p * m + r : r * k + p)];
          const y = bv[bi + (transposeB ? c * k + p : p * n + c)];
          sum += x * y;
        }
        out[i * m * n + r * n + c] = sum;
      }
    }
  }
  return tf.tensor(out, [...outBatch, m, n]);
}

/** Operand shapes for [batch..., m, k] x [batch..., k, n], laid out for the transpose flags. */
function operandShapes(aBatch: number[], bBatch: number[], m: number, k: number, n: number, tA: boolean, tB: boolean) {
  return [
    [...aBatch, ...(tA ? [k, m] : [m, k])],
    [...bBatch, ...(tB ? [n, k] : [k, n])],
  ];
}

function maxAbsDiff(x: tf.Tensor, y: tf.Tensor): number {
  expect(x.shape).toEqual(y.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(x, y))).dataSync()[0]);
}

// [name, aBatch, bBatch, m, k, n], covering the GEMM's 4-row x 8-column panels, its leftover
// rows and columns, and every way batches pair up.
const layouts: Array<[string, number[], number[], number, number, number]> = [
  ['plain, under 8 columns (element kernel only)', [], [], 5, 7, 3],
  ['plain, whole panels only', [], [], 8, 9, 16],
  ['plain, under 4 rows', [], [], 3, 9, 16],
  ['plain, leftover rows and columns', [], [], 67, 45, 38],
  ['batch', [4], [4], 6, 5, 11],
  ['batch, larger', [3], [3], 40, 50, 36],
  ['batch vs matrix', [4], [], 3, 5, 13],
  ['batch vs matrix, larger', [3], [], 40, 50, 36],
  ['matrix vs batch', [], [4], 3, 5, 10],
  ['rank 4 batch', [2, 3], [2, 3], 33, 41, 50],
  ['rank 4 batch vs rank 3', [2, 3], [3], 33, 41, 50],
  ['axis-by-axis broadcast', [2, 1], [1, 3], 3, 4, 5],
  ['axis-by-axis broadcast, larger', [2, 1], [1, 3], 33, 41, 50],
];
const flags: Array<[boolean, boolean]> = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];

const blas = blasAddon().addon;
const paths: Array<[string, 'wasm' | 'cpu', () => KernelConfig]> = [
  ["lonas's GEMM on wasm", 'wasm', () => wasmBatchMatMulConfig],
  ['OpenBLAS on wasm', 'wasm', () => wasmBlasBatchMatMulConfig(blas as BlasAddon)],
  ['OpenBLAS on cpu', 'cpu', () => cpuBlasBatchMatMulConfig(blas as BlasAddon)],
];

for (const [pathName, backendName, configOf] of paths) {
  const missing = pathName.startsWith('OpenBLAS') && blas === undefined ? blasAddon().reason : undefined;
  describeUnless(missing, `BatchMatMul: ${pathName}`, () => {
    let stock: KernelConfig;
    let run: <T>(body: () => T) => T;
    beforeAll(async () => {
      await selectBackend({ requested: backendName, log: () => {} });
      stock = withStockKernels(backendName, () => getKernel(BatchMatMul, backendName)) as KernelConfig;
      const config = configOf();
      run = (body) => withKernel(config, body);
    });

    for (const [name, aBatch, bBatch, m, k, n] of layouts) {
      for (const [tA, tB] of flags) {
        it(`${name}, transposeA=${tA}, transposeB=${tB}: equals the reference and the stock kernel`, () => {
          const [aShape, bShape] = operandShapes(aBatch, bBatch, m, k, n, tA, tB);
          const a = tf.randomNormal(aShape, 0, 1, 'float32', 1);
          const b = tf.randomNormal(bShape, 0, 1, 'float32', 2);
          const fast = run(() => tf.matMul(a, b, tA, tB));
          expect(maxAbsDiff(fast, referenceMatMul(a, b, tA, tB))).toBeLessThan(1e-4);
          // tfjs's own kernels collapse batch axes, so they are only right without axis-by-axis broadcasting.
          if (!name.startsWith('axis-by-axis')) {
            const stocked = withKernel(stock, () => tf.matMul(a, b, tA, tB));
            expect(maxAbsDiff(fast, stocked)).toBeLessThan(1e-4);
            stocked.dispose();
          }
          tf.dispose([a, b, fast]);
        });
      }
    }

    // tfjs's own BatchMatMul gradient does not reduce broadcast batches, so both cases keep batches equal.
    for (const [aShape, bShape] of [
      [
        [3, 40, 50],
        [3, 50, 36],
      ],
      [
        [40, 50],
        [50, 36],
      ],
    ]) {
      it(`gives the same gradients as the stock kernel for [${aShape}] x [${bShape}]`, () => {
        const a = tf.randomNormal(aShape, 0, 1, 'float32', 3);
        const b = tf.randomNormal(bShape, 0, 1, 'float32', 4);
        const w = tf.randomNormal([...aShape.slice(0, -1), bShape[bShape.length - 1]], 0, 1, 'float32', 5);
        const grads = () => tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y), w)))([a, b]);
        const fast = run(grads);
        const stocked = withKernel(stock, grads);
        expect(maxAbsDiff(fast[0], stocked[0])).toBeLessThan(1e-4);
        expect(maxAbsDiff(fast[1], stocked[1])).toBeLessThan(1e-4);
      });
    }

    it('rejects mismatched inner dimensions with the shapes in the message', () => {
      expect(() => run(() => tf.matMul(tf.zeros([2, 3]), tf.zeros([4, 5])))).toThrow(/inner shapes \(3\) and \(4\)/);
    });

    it('handles empty operands', () => {
      expect(run(() => tf.matMul(tf.zeros([0, 3]), tf.zeros([3, 4]))).shape).toEqual([0, 4]);
      // A heap block that held other values before: a product over k = 0 must still be zeros.
      run(() => tf.fill([2, 2], 7)).dispose();
      expect(Array.from(run(() => tf.matMul(tf.zeros([2, 0]), tf.zeros([0, 2]))).dataSync())).toEqual([0, 0, 0, 0]);
    });

    it('leaks neither tensors nor backend allocations', () => {
      const a = tf.randomNormal([3, 50, 40]);
      const b = tf.randomNormal([3, 50, 36]);
      const once = () => run(() => tf.tidy(() => tf.sum(tf.matMul(a, b, true, false))).dispose());
      once();
      const tensors = tf.memory().numTensors;
      const dataIds = tf.backend().numDataIds();
      for (let i = 0; i < 20; i++) once();
      expect(tf.memory().numTensors).toBe(tensors);
      expect(tf.backend().numDataIds()).toBe(dataIds);
    });
  });
}

describe('broadcastBatchIndex', () => {
  it('maps an output batch entry to each operand, numpy style', () => {
    // out batch [2, 3]; operand [2, 1] repeats along the second axis, [3] along the first.
    expect([0, 1, 2, 3, 4, 5].map((i) => broadcastBatchIndex([2, 3], [2, 1], i))).toEqual([0, 0, 0, 1, 1, 1]);
    expect([0, 1, 2, 3, 4, 5].map((i) => broadcastBatchIndex([2, 3], [3], i))).toEqual([0, 1, 2, 0, 1, 2]);
    expect([0, 1, 2, 3, 4, 5].map((i) => broadcastBatchIndex([2, 3], [], i))).toEqual([0, 0, 0, 0, 0, 0]);
  });
});
