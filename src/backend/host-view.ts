import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { heapData, wasmInternals } from './kernels/wasm-internals';
import { uninitializedFloats } from './uninitialized-floats';

/**
 * Whether tensors of the current backend live in host memory that host code can read in place:
 * the wasm heap or the cpu backend's arrays (not a GPU's, nor libtensorflow's).
 */
export function hostMemoryBackend(): boolean {
  return tf.getBackend() === 'wasm' || tf.getBackend() === 'cpu';
}

/**
 * A float32 tensor's values on the cpu backend: its own array, or a converted copy where a cast
 * from int32 left it sharing the int32 one.
 */
export function cpuFloats(backend: MathBackendCPU, info: TensorInfo): Float32Array {
  const values = backend.readSync(info.dataId) as Float32Array | Int32Array;
  return values instanceof Float32Array ? values : Float32Array.from(values);
}

/**
 * A float32 tensor's values without a copy: a view on the wasm heap, or the cpu backend's own
 * array (copied only where a cast left it an int32 array). A heap view is only good until the next tfjs allocation (a growing heap detaches it),
 * so take views just before use and allocate no tensors while holding them.
 */
export function hostView(tensor: tf.Tensor): Float32Array {
  if (tensor.dtype !== 'float32') throw new Error(`host view: expected a float32 tensor, got ${tensor.dtype}`);
  const backend = tf.backend();
  if (tf.getBackend() === 'wasm') {
    const wasm = wasmInternals(backend as BackendWasm);
    const { memoryOffset } = heapData(wasm, tensor);
    return new Float32Array(wasm.wasm.asm.memory.buffer, memoryOffset, tensor.size);
  }
  if (tf.getBackend() === 'cpu') return cpuFloats(backend as MathBackendCPU, tensor);
  throw new Error(`host view: the ${tf.getBackend()} backend keeps tensors outside host memory`);
}

/**
 * A new float32 tensor of `shape` for host code to fill through hostView, its values unset. On
 * wasm it is made on the heap directly, without the copy in that tf.tensor of an array makes.
 */
function hostTensor(shape: number[]): tf.Tensor {
  if (tf.getBackend() === 'wasm') {
    const info = wasmInternals(tf.backend() as BackendWasm).makeOutput(shape, 'float32');
    return tf.engine().makeTensorFromTensorInfo(info);
  }
  if (tf.getBackend() === 'cpu') return tf.tensor(uninitializedFloats(tf.util.sizeFromShape(shape)), shape);
  throw new Error(`host tensor: the ${tf.getBackend()} backend keeps tensors outside host memory`);
}

/**
 * New float32 tensors of `shapes`, filled by `fill` through their views. All are made before any
 * view is taken, so `fill` may take views of other tensors too: a tfjs allocation may grow the
 * wasm heap, which detaches every view of it.
 */
export function filledHostTensors(shapes: number[][], fill: (outs: Float32Array[]) => void): tf.Tensor[] {
  const outs = shapes.map(hostTensor);
  fill(outs.map(hostView));
  return outs;
}
