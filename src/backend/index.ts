export {
  backendNames,
  BackendUnavailableError,
  requestedBackend,
  selectBackend,
  tensorflowPackages,
  type BackendChoice,
  type BackendName,
  type BackendOptions,
} from './select-backend';
export { registerKernelPatches, unregisterKernelPatches, withStockKernels } from './kernels/register-kernel-patches';
