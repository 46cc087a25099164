import {
  backend_util,
  GatherV2,
  util,
  type GatherV2Attrs,
  type GatherV2Inputs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { wasmInternals } from './wasm-internals';

/**
 * GatherV2 on the wasm backend as whole-slice copies on the heap. The stock kernel copies element
 * by element with index arithmetic (about 55 ns per element), which makes embedding lookups cost
 * as much as a layer's matrix products; here each gathered slice is one memmove.
 */
function gatherV2(args: { inputs: GatherV2Inputs; backend: BackendWasm; attrs: GatherV2Attrs }): TensorInfo {
  const { x, indices } = args.inputs as { x: TensorInfo; indices: TensorInfo };
  const backend = wasmInternals(args.backend);
  const axis = util.parseAxisParam(args.attrs.axis, x.shape)[0];
  const ids = backend.typedArrayFromHeap(indices);
  const axisSize = x.shape[axis];
  for (const index of ids) {
    util.assert(
      index <= axisSize - 1 && index >= 0,
      () => `GatherV2: the index value ${index} is not in [0, ${axisSize - 1}]`,
    );
  }
  const info = backend_util.segment_util.collectGatherOpShapeInfo(x, indices, axis, args.attrs.batchDims);
  const out = backend.makeOutput(info.outputShape, x.dtype as 'float32' | 'int32');
  if (util.sizeFromShape(info.outputShape) === 0) return out;
  // Views after the output exists: allocating it may have grown (and detached) the heap.
  const source = backend.typedArrayFromHeap(x);
  const target = backend.typedArrayFromHeap(out);
  const perBatch = ids.length / info.batchSize;
  const { outerSize, dimSize, sliceSize } = info;
  const indexView = backend.typedArrayFromHeap(indices);
  let written = 0;
  for (let b = 0; b < info.batchSize; b++) {
    for (let o = 0; o < outerSize; o++) {
      const base = (b * outerSize + o) * dimSize * sliceSize;
      for (let i = 0; i < perBatch; i++) {
        const start = base + indexView[b * perBatch + i] * sliceSize;
        target.set(source.subarray(start, start + sliceSize), written);
        written += sliceSize;
      }
    }
  }
  return out;
}

export const wasmGatherConfig: KernelConfig = {
  kernelName: GatherV2,
  backendName: 'wasm',
  kernelFunc: gatherV2 as unknown as KernelFunc,
};
