import {
  BatchMatMul,
  type BatchMatMulAttrs,
  type BatchMatMulInputs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { broadcastBatchIndex, matMulGeometry, type MatMulGeometry } from './batch-matmul-geometry';
import { cpuFloats } from '../host-view';
import { uninitializedFloats } from '../uninitialized-floats';
import type { BlasAddon } from './blas-addon';
import { heapData, wasmInternals } from './wasm-internals';

/**
 * Runs the products on OpenBLAS, each at its element offsets (numpy broadcasting of batch axes).
 * A batch that shares one right operand, with A not transposed, is one tall product (the batch
 * of A is just more rows), which BLAS runs best.
 */
function sgemm(
  addon: BlasAddon,
  g: MatMulGeometry,
  transposeA: boolean,
  transposeB: boolean,
  arrays: { a: Float32Array; b: Float32Array; c: Float32Array },
  bases: { a: number; b: number; c: number },
): void {
  const tall = g.bBatchShape.every((size) => size === 1) && !transposeA;
  const count = tall ? 1 : g.outBatch;
  const [a, b, c] = [new Int32Array(count), new Int32Array(count), new Int32Array(count)];
  for (let i = 0; i < count; i++) {
    a[i] = bases.a + broadcastBatchIndex(g.outBatchShape, g.aBatchShape, i) * g.m * g.k;
    b[i] = bases.b + broadcastBatchIndex(g.outBatchShape, g.bBatchShape, i) * g.k * g.n;
    c[i] = bases.c + i * g.m * g.n;
  }
  const rows = tall ? g.outBatch * g.m : g.m;
  addon.sgemmBatch(transposeA, transposeB, rows, g.n, g.k, arrays.a, arrays.b, arrays.c, a, b, c);
}

type Args<B> = { inputs: BatchMatMulInputs; backend: B; attrs: BatchMatMulAttrs };

/** BatchMatMul on the wasm backend through OpenBLAS, reading and writing the wasm heap in place. */
export function wasmBlasBatchMatMulConfig(addon: BlasAddon): KernelConfig {
  const kernelFunc = (args: Args<BackendWasm>) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = args.attrs;
    const backend = wasmInternals(args.backend);
    const g = matMulGeometry(a, b, transposeA, transposeB, 'wasm');
    // The output first: allocating may grow the heap, which detaches views taken before.
    const out = backend.makeOutput([...g.outBatchShape, g.m, g.n], 'float32');
    const heap = new Float32Array(backend.wasm.asm.memory.buffer);
    const element = (info: TensorInfo) => heapData(backend, info).memoryOffset / Float32Array.BYTES_PER_ELEMENT;
    if (g.outBatch * g.m * g.n > 0) {
      sgemm(
        addon,
        g,
        transposeA,
        transposeB,
        { a: heap, b: heap, c: heap },
        { a: element(a), b: element(b), c: element(out) },
      );
    }
    return out;
  };
  return { kernelName: BatchMatMul, backendName: 'wasm', kernelFunc: kernelFunc as unknown as KernelFunc };
}

/** BatchMatMul on the cpu backend through OpenBLAS, on the backend's own arrays. */
export function cpuBlasBatchMatMulConfig(addon: BlasAddon): KernelConfig {
  const kernelFunc = (args: Args<MathBackendCPU>) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = args.attrs;
    const g = matMulGeometry(a, b, transposeA, transposeB, 'cpu');
    const values = uninitializedFloats(g.outBatch * g.m * g.n);
    if (values.length > 0) {
      const read = (info: TensorInfo) => cpuFloats(args.backend, info);
      sgemm(addon, g, transposeA, transposeB, { a: read(a), b: read(b), c: values }, { a: 0, b: 0, c: 0 });
    }
    return args.backend.makeTensorInfo([...g.outBatchShape, g.m, g.n], 'float32', values);
  };
  return { kernelName: BatchMatMul, backendName: 'cpu', kernelFunc: kernelFunc as unknown as KernelFunc };
}
