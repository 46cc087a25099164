import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { cpuUnsortedSegmentSumConfig, wasmUnsortedSegmentSumConfig } from './unsorted-segment-sum';
import { wasmBatchMatMulConfig } from './wasm-batch-matmul';

/** Kernels that replace or fill in tfjs 4.22's own, per backend. */
export const kernelPatches: Record<string, KernelConfig[]> = {
  wasm: [wasmBatchMatMulConfig, wasmUnsortedSegmentSumConfig],
  cpu: [cpuUnsortedSegmentSumConfig],
};

/** The stock kernel each patch displaced (undefined where tfjs had none). */
const displaced = new Map<KernelConfig, KernelConfig | undefined>();

function install(config: KernelConfig): void {
  const current = getKernel(config.kernelName, config.backendName);
  if (current !== undefined) unregisterKernel(config.kernelName, config.backendName);
  registerKernel(config);
}

/**
 * Installs the patches for one backend, replacing any stock kernel of the same name.
 * Call it after the backend is initialised, so stock kernels' own setup has already run.
 */
export function registerKernelPatches(backendName: string): void {
  for (const patch of kernelPatches[backendName] ?? []) {
    const current = getKernel(patch.kernelName, backendName);
    if (current === patch) continue;
    displaced.set(patch, current);
    install(patch);
  }
}

/** Puts tfjs's own kernels back (where it had them) for one backend. */
export function unregisterKernelPatches(backendName: string): void {
  for (const patch of kernelPatches[backendName] ?? []) {
    if (getKernel(patch.kernelName, backendName) !== patch) continue;
    const stock = displaced.get(patch);
    if (stock === undefined) unregisterKernel(patch.kernelName, backendName);
    else install(stock);
  }
}

/** Runs `body` on tfjs's stock kernels, for comparisons in tests and benchmarks. */
export function withStockKernels<T>(backendName: string, body: () => T): T {
  const patched = (kernelPatches[backendName] ?? []).some((p) => getKernel(p.kernelName, backendName) === p);
  if (!patched) return body();
  unregisterKernelPatches(backendName);
  try {
    return body();
  } finally {
    registerKernelPatches(backendName);
  }
}
