import {
  BatchMatMul,
  broadcast_util,
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

/** Index into an operand's flattened batch for output batch entry `outIndex` (numpy broadcasting). */
export function broadcastBatchIndex(outBatchShape: number[], operandBatchShape: number[], outIndex: number): number {
  let index = 0;
  let stride = 1;
  let rest = outIndex;
  for (let axis = outBatchShape.length - 1; axis >= 0; axis--) {
    const coordinate = rest % outBatchShape[axis];
    rest = Math.floor(rest / outBatchShape[axis]);
    const operandAxis = axis - (outBatchShape.length - operandBatchShape.length);
    if (operandAxis < 0) continue;
    const size = operandBatchShape[operandAxis];
    if (size !== 1) index += coordinate * stride;
    stride *= size;
  }
  return index;
}

function fastBatchMatMul(args: { inputs: BatchMatMulInputs; backend: BackendWasm; attrs: BatchMatMulAttrs }) {
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = args.attrs;
  const backend = wasmInternals(args.backend);
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new Error(`matMul on wasm takes float32 tensors, got ${a.dtype} and ${b.dtype}`);
  }
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  const m = transposeA ? a.shape[aRank - 1] : a.shape[aRank - 2];
  const kA = transposeA ? a.shape[aRank - 2] : a.shape[aRank - 1];
  const kB = transposeB ? b.shape[bRank - 1] : b.shape[bRank - 2];
  const n = transposeB ? b.shape[bRank - 2] : b.shape[bRank - 1];
  util.assert(
    kA === kB,
    () =>
      `Error in matMul: inner shapes (${kA}) and (${kB}) of Tensors with shapes ${a.shape} and ` +
      `${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
  );
  const k = kA;
  const aBatchShape = a.shape.slice(0, -2);
  const bBatchShape = b.shape.slice(0, -2);
  const outBatchShape = broadcast_util.assertAndGetBroadcastShape(aBatchShape, bBatchShape);
  const outBatch = util.sizeFromShape(outBatchShape);
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
