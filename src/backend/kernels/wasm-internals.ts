import type { DataId, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * The parts of the wasm backend that its public typings keep private but that a kernel
 * working in place on the wasm heap needs: tensor ids, heap offsets and raw C entry points.
 */
export interface WasmBackendInternals {
  wasm: {
    cwrap(name: string, returnType: null, argTypes: string[]): (...args: unknown[]) => void;
    tfjs: {
      registerTensor(id: number, size: number, memoryOffset: number): void;
      disposeData(id: number): void;
    };
  };
  dataIdMap: { get(dataId: DataId): { id: number; memoryOffset: number } | undefined };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: 'float32' | 'int32'): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: DataId): boolean;
}

export function wasmInternals(backend: BackendWasm): WasmBackendInternals {
  return backend as unknown as WasmBackendInternals;
}

/** A tensor's id in the C kernels and the byte offset where its data starts on the wasm heap. */
export function heapData(backend: WasmBackendInternals, info: TensorInfo): { id: number; memoryOffset: number } {
  const data = backend.dataIdMap.get(info.dataId);
  if (data === undefined) throw new Error('wasm backend: tensor data is not on the wasm heap');
  return data;
}

/**
 * Runs `body` with temporary tensor ids that alias sub-ranges of existing heap memory, so a
 * C kernel can read and write parts of larger tensors without copies. The aliases are
 * unregistered afterwards; the memory itself stays owned by the tensors it belongs to.
 */
export function withHeapViews<T>(
  backend: WasmBackendInternals,
  views: Array<{ offset: number; size: number }>,
  body: (ids: number[]) => T,
): T {
  const ids = views.map(({ offset, size }) => {
    const id = backend.dataIdNextNumber++;
    backend.wasm.tfjs.registerTensor(id, size, offset);
    return id;
  });
  try {
    return body(ids);
  } finally {
    for (const id of ids) backend.wasm.tfjs.disposeData(id);
  }
}
