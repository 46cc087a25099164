import type { DataId, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * The parts of the wasm backend that its public typings keep private but that a kernel
 * working in place on the wasm heap needs: the heap itself and where each tensor lies on it.
 */
export interface WasmBackendInternals {
  wasm: { asm: { memory: WebAssembly.Memory } };
  dataIdMap: { get(dataId: DataId): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32' | 'int32'): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: DataId): boolean;
}

export function wasmInternals(backend: BackendWasm): WasmBackendInternals {
  return backend as unknown as WasmBackendInternals;
}

/** Where a tensor's data starts on the wasm heap, in bytes. */
export function heapData(backend: WasmBackendInternals, info: TensorInfo): { memoryOffset: number } {
  const data = backend.dataIdMap.get(info.dataId);
  if (data === undefined) throw new Error('wasm backend: tensor data is not on the wasm heap');
  return data;
}
