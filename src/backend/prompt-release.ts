import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { DataId } from '@tensorflow/tfjs-core';
import * as v8 from 'v8';
import * as vm from 'vm';

/** The bytes of disposed tensor data after which a garbage collection runs. */
const RELEASE_EVERY_BYTES = 512 * 1024 ** 2;

interface CpuDataStorage {
  get(dataId: DataId): { values?: { byteLength: number } } | undefined;
  has(dataId: DataId): boolean;
}

const releasing = new WeakSet<MathBackendCPU>();

/**
 * Frees the cpu backend's disposed tensor data promptly. Its tensors are ordinary typed arrays
 * that V8 frees only when it collects them, and V8 collects by its JavaScript heap, which here is
 * small: gigabytes of disposed activations stayed resident between collections. After each
 * RELEASE_EVERY_BYTES of data disposed, a full collection returns them.
 */
export function releaseDisposedPromptly(backend: MathBackendCPU): void {
  if (releasing.has(backend)) return;
  releasing.add(backend);
  v8.setFlagsFromString('--expose-gc');
  const collect = vm.runInNewContext('gc') as () => void;
  const data = (backend as unknown as { data: CpuDataStorage }).data;
  const dispose = backend.disposeData.bind(backend);
  let pending = 0;
  backend.disposeData = (dataId: DataId, force?: boolean): boolean => {
    const entry = data.get(dataId);
    const freed = dispose(dataId, force);
    if (entry !== undefined && !data.has(dataId)) pending += entry.values?.byteLength ?? 0;
    if (pending >= RELEASE_EVERY_BYTES) {
      pending = 0;
      collect();
    }
    return freed;
  };
}
