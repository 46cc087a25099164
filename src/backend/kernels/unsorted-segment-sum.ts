import {
  UnsortedSegmentSum,
  util,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  type UnsortedSegmentSumAttrs,
} from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { wasmInternals } from './wasm-internals';

/**
 * UnsortedSegmentSum, the gradient of `gather` (so of every embedding lookup).
 *
 * tfjs 4.22 has no wasm kernel for it, and the cpu one builds a mask per segment
 * (O(segments x elements) work). This is the direct accumulation loop. Ids outside
 * [0, numSegments) are skipped, as TensorFlow does for negative ids and as the stock cpu
 * kernel does for all of them.
 */
export function accumulateSegments(
  x: ArrayLike<number>,
  segmentIds: ArrayLike<number>,
  numSegments: number,
  out: Float32Array | Int32Array,
): void {
  const rows = segmentIds.length;
  const inner = rows === 0 ? 0 : x.length / rows;
  out.fill(0);
  for (let row = 0; row < rows; row++) {
    const segment = segmentIds[row];
    if (segment < 0 || segment >= numSegments) continue;
    const from = row * inner;
    const to = segment * inner;
    for (let j = 0; j < inner; j++) out[to + j] += x[from + j];
  }
}

interface SegmentSumArgs<B> {
  inputs: { x: TensorInfo; segmentIds: TensorInfo };
  backend: B;
  attrs: UnsortedSegmentSumAttrs;
}

function outputShape({ inputs: { x, segmentIds }, attrs: { numSegments } }: SegmentSumArgs<unknown>): number[] {
  const idsRank = segmentIds.shape.length;
  util.assert(
    util.arraysEqual(segmentIds.shape, x.shape.slice(0, idsRank)),
    () => `unsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}]`,
  );
  return [numSegments, ...x.shape.slice(idsRank)];
}

function wasmUnsortedSegmentSum(args: SegmentSumArgs<BackendWasm>): TensorInfo {
  const backend = wasmInternals(args.backend);
  const { x, segmentIds } = args.inputs;
  const out = backend.makeOutput(outputShape(args), x.dtype as 'float32' | 'int32');
  accumulateSegments(
    backend.typedArrayFromHeap(x),
    backend.typedArrayFromHeap(segmentIds),
    args.attrs.numSegments,
    backend.typedArrayFromHeap(out) as Float32Array | Int32Array,
  );
  return out;
}

function cpuUnsortedSegmentSum(args: SegmentSumArgs<MathBackendCPU>): TensorInfo {
  const { backend } = args;
  const { x, segmentIds } = args.inputs;
  const shape = outputShape(args);
  const values =
    x.dtype === 'int32' ? new Int32Array(util.sizeFromShape(shape)) : new Float32Array(util.sizeFromShape(shape));
  accumulateSegments(
    backend.data.get(x.dataId).values as Float32Array,
    backend.data.get(segmentIds.dataId).values as Int32Array,
    args.attrs.numSegments,
    values,
  );
  return backend.makeTensorInfo(shape, x.dtype, values);
}

export const wasmUnsortedSegmentSumConfig: KernelConfig = {
  kernelName: UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: wasmUnsortedSegmentSum as unknown as KernelFunc,
};

export const cpuUnsortedSegmentSumConfig: KernelConfig = {
  kernelName: UnsortedSegmentSum,
  backendName: 'cpu',
  kernelFunc: cpuUnsortedSegmentSum as unknown as KernelFunc,
};
