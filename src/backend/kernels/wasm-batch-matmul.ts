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
import { heapData, wasmInternals, withHeapViews, type WasmBackendInternals } from './wasm-internals';

/**
 * BatchMatMul for the wasm backend that keeps every product on XNNPACK's fast path.
 *
 * The stock wasm kernel is fast (XNNPACK) only for one un-transposed [m, k] x [k, n] product;
 * with a transpose flag or a batch dimension it drops to a naive loop 10-30x slower, and
 * backpropagation is mostly such products. Here transposed operands are first made contiguous
 * with the Transpose kernel, a batch against a shared right operand is folded into the rows
 * of one product, and a true batch runs one fast product per batch entry on heap views, so the
 * output is written in place with no extra copies. A batch of products too small to repay
 * XNNPACK's per-call set-up (weight packing) stays on the stock loop, which is faster there.
 */

/** Below this many multiply-adds per batch entry the stock loop beats a fresh XNNPACK call. */
export const SMALL_PRODUCT_MACS = 65536;

type RawMatMul = (
  aId: number,
  aShape: Uint8Array,
  aRank: number,
  bId: number,
  bShape: Uint8Array,
  bRank: number,
  transposeA: boolean,
  transposeB: boolean,
  outId: number,
) => void;

const rawMatMulByBackend = new WeakMap<object, RawMatMul>();

function rawMatMul(backend: WasmBackendInternals): RawMatMul {
  let fn = rawMatMulByBackend.get(backend);
  if (fn === undefined) {
    fn = backend.wasm.cwrap(BatchMatMul, null, [
      'number',
      'array',
      'number',
      'number',
      'array',
      'number',
      'number',
      'number',
      'number',
    ]) as RawMatMul;
    rawMatMulByBackend.set(backend, fn);
  }
  return fn;
}

const shapeBytes = (shape: number[]) => new Uint8Array(new Int32Array(shape).buffer);

/**
 * A matrix operand on the heap: a whole tensor (its own id, so XNNPACK's packed-weight cache,
 * keyed on the right operand's id, is reused across calls) or a range inside one.
 */
type HeapMatrix = { tensorId: number } | { offset: number };

/** out[rows, n] = a[rows, k] x b[k, n] through XNNPACK; ranges become temporary views. */
function plainProduct(
  backend: WasmBackendInternals,
  rows: number,
  k: number,
  n: number,
  a: HeapMatrix,
  b: HeapMatrix,
  out: HeapMatrix,
): void {
  const operands = [
    { matrix: a, size: rows * k },
    { matrix: b, size: k * n },
    { matrix: out, size: rows * n },
  ];
  const views = operands.flatMap(({ matrix, size }) => ('offset' in matrix ? [{ offset: matrix.offset, size }] : []));
  withHeapViews(backend, views, (viewIds) => {
    let nextView = 0;
    const [aId, bId, outId] = operands.map(({ matrix }) =>
      'tensorId' in matrix ? matrix.tensorId : viewIds[nextView++],
    );
    rawMatMul(backend)(aId, shapeBytes([1, rows, k]), 3, bId, shapeBytes([1, k, n]), 3, false, false, outId);
  });
}

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

  const aBatch = util.sizeFromShape(aBatchShape);
  const bBatch = util.sizeFromShape(bBatchShape);
  const sharedRightOperand = bBatch === 1;
  // The stock loop broadcasts only a whole batch against a single matrix, never axis by axis.
  const stockBroadcasts = aBatch === bBatch || aBatch === 1;
  if (!sharedRightOperand && stockBroadcasts && m * k * n < SMALL_PRODUCT_MACS) {
    const as3d = (info: TensorInfo, batch: number) => shapeBytes([batch, ...info.shape.slice(-2)]);
    const id = (info: TensorInfo) => heapData(backend, info).id;
    rawMatMul(backend)(id(a), as3d(a, aBatch), 3, id(b), as3d(b, bBatch), 3, transposeA, transposeB, id(out));
    return out;
  }

  const aCanonical = transposeA ? transposeLastTwo(a, args.backend) : a;
  const bCanonical = transposeB ? transposeLastTwo(b, args.backend) : b;
  try {
    if (sharedRightOperand) {
      // A shared right operand: the whole batch of A is just more rows of one product.
      const whole = (info: TensorInfo): HeapMatrix => ({ tensorId: heapData(backend, info).id });
      plainProduct(backend, outBatch * m, k, n, whole(aCanonical), whole(bCanonical), whole(out));
    } else {
      const aBase = heapData(backend, aCanonical).memoryOffset;
      const bBase = heapData(backend, bCanonical).memoryOffset;
      const outBase = heapData(backend, out).memoryOffset;
      const bytes = Float32Array.BYTES_PER_ELEMENT;
      for (let i = 0; i < outBatch; i++) {
        const ai = broadcastBatchIndex(outBatchShape, aBatchShape, i);
        const bi = broadcastBatchIndex(outBatchShape, bBatchShape, i);
        plainProduct(
          backend,
          m,
          k,
          n,
          { offset: aBase + ai * m * k * bytes },
          { offset: bBase + bi * k * n * bytes },
          { offset: outBase + i * m * n * bytes },
        );
      }
    }
  } finally {
    if (aCanonical !== a) backend.disposeData(aCanonical.dataId);
    if (bCanonical !== b) backend.disposeData(bCanonical.dataId);
  }
  return out;
}

export const wasmBatchMatMulConfig: KernelConfig = {
  kernelName: BatchMatMul,
  backendName: 'wasm',
  kernelFunc: fastBatchMatMul as unknown as KernelFunc,
};
