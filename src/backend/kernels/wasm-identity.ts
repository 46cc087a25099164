import { Identity, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';

/**
 * Identity on the wasm backend by sharing the input's data, as the cpu backend does (tensors are
 * immutable, so a copy buys nothing). The stock kernel copies, and gradients and `clone` call it
 * hundreds of times per training step.
 */
function identity(args: { inputs: { x: TensorInfo }; backend: { incRef(dataId: object): void } }): TensorInfo {
  const { x } = args.inputs;
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export const wasmIdentityConfig: KernelConfig = {
  kernelName: Identity,
  backendName: 'wasm',
  kernelFunc: identity as unknown as KernelFunc,
};
