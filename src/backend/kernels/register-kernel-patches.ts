import { getKernel, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc } from '@tensorflow/tfjs-core';
import { blasAddon } from './blas-addon';
import { cpuBlasBatchMatMulConfig, wasmBlasBatchMatMulConfig } from './blas-batch-matmul';
import { nativeKernelConfigs } from './native-kernels';
import { cpuUnsortedSegmentSumConfig, wasmUnsortedSegmentSumConfig } from './unsorted-segment-sum';
import { wasmBatchMatMulConfig } from './wasm-batch-matmul';
import { wasmGatherConfig } from './wasm-gather';
import { wasmIdentityConfig } from './wasm-identity';

const blas = blasAddon();

/** The stock kernel each patch displaced (undefined where tfjs had none). */
const displaced = new Map<KernelConfig, KernelConfig | undefined>();

/** tfjs's own kernel that a patch displaced, for the cases the patch leaves to it. */
function stockKernel(backendName: string): (kernelName: string) => KernelFunc {
  return (kernelName) => {
    for (const [patch, stock] of displaced) {
      if (patch.kernelName === kernelName && patch.backendName === backendName && stock !== undefined) {
        return stock.kernelFunc;
      }
    }
    throw new Error(`tfjs has no ${kernelName} kernel on the ${backendName} backend`);
  };
}

/**
 * Kernels that replace or fill in tfjs 4.22's own, per backend. Matrix products go to OpenBLAS
 * when its addon was built (on wasm and cpu), else to lonas's wasm GEMM (wasm only); with the
 * addon, the cpu backend's float32 elementwise, reduction, softmax, slice, transpose and pad
 * kernels run in C too.
 */
export const kernelPatches: Record<string, KernelConfig[]> = {
  wasm: [
    ...(blas.addon === undefined
      ? [wasmBatchMatMulConfig]
      : [wasmBlasBatchMatMulConfig(blas.addon), ...nativeKernelConfigs('wasm', blas.addon, stockKernel('wasm'))]),
    wasmUnsortedSegmentSumConfig,
    wasmGatherConfig,
    wasmIdentityConfig,
  ],
  cpu: [
    ...(blas.addon === undefined
      ? []
      : [cpuBlasBatchMatMulConfig(blas.addon), ...nativeKernelConfigs('cpu', blas.addon, stockKernel('cpu'))]),
    cpuUnsortedSegmentSumConfig,
  ],
};

/** How matrix products (and on cpu, the other float32 kernels) run, for the start-up line. */
export function matMulPath(backendName: 'wasm' | 'cpu'): string {
  if (blas.addon !== undefined) {
    return backendName === 'cpu'
      ? `OpenBLAS matmul and native kernels (${blas.reason})`
      : `OpenBLAS matmul (${blas.reason})`;
  }
  return backendName === 'wasm' ? `lonas GEMM matmul (${blas.reason})` : `stock matmul (${blas.reason})`;
}

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

/** Runs `body`, then `restore`: once its promise settles, where it returns one (async work awaits reads). */
function thenRestore<T>(body: () => T, restore: () => void): T {
  let result: T;
  try {
    result = body();
  } catch (error) {
    restore();
    throw error;
  }
  if (result instanceof Promise) return result.finally(restore) as T;
  restore();
  return result;
}

/** Runs `body` on tfjs's stock kernels, for comparisons in tests and benchmarks. */
export function withStockKernels<T>(backendName: string, body: () => T): T {
  const patched = (kernelPatches[backendName] ?? []).some((p) => getKernel(p.kernelName, backendName) === p);
  if (!patched) return body();
  unregisterKernelPatches(backendName);
  return thenRestore(body, () => registerKernelPatches(backendName));
}

/** Runs `body` with `config` as its kernel on its backend, then puts back the kernel it displaced. */
export function withKernel<T>(config: KernelConfig, body: () => T): T {
  const previous = getKernel(config.kernelName, config.backendName);
  if (previous !== undefined) unregisterKernel(config.kernelName, config.backendName);
  registerKernel(config);
  return thenRestore(body, () => {
    unregisterKernel(config.kernelName, config.backendName);
    if (previous !== undefined) registerKernel(previous);
  });
}

/** Runs `body` on tfjs's own kernels for `kernelNames` only; lonas's other patches stay. */
export function withStockKernelsFor<T>(backendName: string, kernelNames: string[], body: () => T): T {
  const stock = kernelNames
    .map((name) => withStockKernels(backendName, () => getKernel(name, backendName)))
    .filter((config): config is KernelConfig => config !== undefined);
  return stock.reduceRight<() => T>((inner, config) => () => withKernel(config, inner), body)();
}
