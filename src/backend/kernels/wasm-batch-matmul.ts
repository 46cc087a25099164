import {
  BatchMatMul,
  getKernel,
  Transpose,
  util,
  type BatchMatMulAttrs,
  type BatchMatMulInputs,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { broadcastBatchIndex, matMulGeometry } from './batch-matmul-geometry';
import { gemm, gemmKernels } from './wasm-gemm';
import { heapData, wasmInternals } from './wasm-internals';

/**
 * BatchMatMul for the wasm backend on lonas's own SIMD GEMM (./wasm-gemm).
 *
 * The stock wasm kernel is fast (XNNPACK) only for one un-transposed [m, k] x [k, n] product;
 * with a transpose flag or a batch dimension it drops to a naive loop 10-30x slower, and
 * backpropagation is mostly such products. Routing those through XNNPACK instead costs a
 * repacking of the right operand for every product (~9 ns per element), which dominates
 * attention-sized blocks. The GEMM here needs no packing: it reads A, or A transposed, in place
 * through strides, reads B row by row, and writes each batch entry straight into the output.
 * Only a transposed B is first made contiguous with the Transpose kernel.
 */

/** Swaps the last two axes into a new contiguous tensor (caller disposes it). */
function transposeLastTwo(x: TensorInfo, backend: BackendWasm): TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank - 2).keys(), rank - 1, rank - 2];
  const transpose = getKernel(Transpose, 'wasm');
  if (transpose === undefined) throw new Error('wasm backend: the Transpose kernel is not registered');
  return transpose.kernelFunc({ inputs: { x }, backend, attrs: { perm } as unknown as NamedAttrMap }) as TensorInfo;
}

function fastBatchMatMul(args: { inputs: BatchMatMulInputs; backend: BackendWasm; attrs: BatchMatMulAttrs }) {
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = args.attrs;
  const backend = wasmInternals(args.backend);
  const { m, k, n, aBatchShape, bBatchShape, outBatchShape, outBatch } = matMulGeometry(
    a,
    b,
    transposeA,
    transposeB,
    'wasm',
  );
  const out = backend.makeOutput([...outBatchShape, m, n], 'float32');
  if (outBatch * m * n === 0) return out;
  if (k === 0) {
    (backend.typedArrayFromHeap(out) as Float32Array).fill(0);
    return out;
  }

  const bRowMajor = transposeB ? transposeLastTwo(b, args.backend) : b;
  try {
    const kernels = gemmKernels(backend.wasm.asm.memory);
    const bytes = Float32Array.BYTES_PER_ELEMENT;
    const aBase = heapData(backend, a).memoryOffset;
    const bBase = heapData(backend, bRowMajor).memoryOffset;
    const outBase = heapData(backend, out).memoryOffset;
    const [aRowStride, aColStride] = transposeA ? [bytes, m * bytes] : [k * bytes, bytes];
    if (util.sizeFromShape(bBatchShape) === 1 && !transposeA) {
      // A shared right operand: the whole batch of A is just more rows of one product.
      gemm(kernels, outBatch * m, k, n, { a: aBase, aRowStride, aColStride, b: bBase, c: outBase });
    } else {
      for (let i = 0; i < outBatch; i++) {
        const ai = broadcastBatchIndex(outBatchShape, aBatchShape, i);
        const bi = broadcastBatchIndex(outBatchShape, bBatchShape, i);
        gemm(kernels, m, k, n, {
          a: aBase + ai * m * k * bytes,
          aRowStride,
          aColStride,
          b: bBase + bi * k * n * bytes,
          c: outBase + i * m * n * bytes,
        });
      }
    }
  } finally {
    if (bRowMajor !== b) backend.disposeData(bRowMajor.dataId);
  }
  return out;
}

export const wasmBatchMatMulConfig: KernelConfig = {
  kernelName: BatchMatMul,
  backendName: 'wasm',
  kernelFunc: fastBatchMatMul as unknown as KernelFunc,
};
