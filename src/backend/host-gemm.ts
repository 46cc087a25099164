import { blasAddon } from './kernels/blas-addon';

/** A row-major block of a float32 array: element (i, j) at data[offset + i * stride + j]. */
export interface MatrixBlock {
  data: Float32Array;
  offset: number;
  stride: number;
}

const addon = blasAddon().addon;

/**
 * Whether hostGemm runs on OpenBLAS. Without it, jsGemm is many times slower than the wasm
 * backend's SIMD GEMM on products of real size, so arithmetic-bound host paths keep to tfjs.
 */
export function hostGemmIsNative(): boolean {
  return addon !== undefined;
}

/** Scratch for the JS product's accumulation in double precision. */
let row = new Float64Array(0);

/**
 * C[m, n] = A[m, k] B[k, n] on host arrays, or C += A B with `accumulate`: OpenBLAS's sgemm when
 * its addon is built, else jsGemm.
 */
export function hostGemm(
  m: number,
  n: number,
  k: number,
  a: MatrixBlock,
  b: MatrixBlock,
  c: MatrixBlock,
  accumulate = false,
): void {
  if (addon === undefined) jsGemm(m, n, k, a, b, c, accumulate);
  else
    addon.sgemm(
      m,
      n,
      k,
      a.data,
      a.offset,
      a.stride,
      b.data,
      b.offset,
      b.stride,
      c.data,
      c.offset,
      c.stride,
      accumulate ? 1 : 0,
      false,
    );
}

/** hostGemm in JS: runs along B's rows (its memory order) and sums in double. */
export function jsGemm(
  m: number,
  n: number,
  k: number,
  a: MatrixBlock,
  b: MatrixBlock,
  c: MatrixBlock,
  accumulate = false,
): void {
  if (row.length < n) row = new Float64Array(n);
  const [aData, bData, cData, sum] = [a.data, b.data, c.data, row];
  for (let i = 0; i < m; i++) {
    const cRow = c.offset + i * c.stride;
    for (let j = 0; j < n; j++) sum[j] = accumulate ? cData[cRow + j] : 0;
    const aRow = a.offset + i * a.stride;
    for (let p = 0; p < k; p++) {
      const x = aData[aRow + p];
      const bRow = b.offset + p * b.stride;
      for (let j = 0; j < n; j++) sum[j] += x * bData[bRow + j];
    }
    for (let j = 0; j < n; j++) cData[cRow + j] = sum[j];
  }
}
