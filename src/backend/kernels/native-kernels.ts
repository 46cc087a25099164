import {
  Abs,
  Add,
  backend_util,
  Exp,
  Log,
  Max,
  Maximum,
  Mean,
  Min,
  Minimum,
  Multiply,
  Neg,
  PadV2,
  RealDiv,
  Reciprocal,
  Rsqrt,
  Sigmoid,
  Slice,
  slice_util,
  Softmax,
  Sqrt,
  Square,
  SquaredDifference,
  Sub,
  Sum,
  Tanh,
  Transpose,
  util,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { cpuFloats } from '../host-view';
import { uninitializedFloats } from '../uninitialized-floats';
import { BINARY_OPS, REDUCE_OPS, UNARY_OPS, type BlasAddon } from './blas-addon';
import { wasmInternals } from './wasm-internals';

/** The backends whose tensors the addon reads and writes in place. */
export type HostBackendName = 'wasm' | 'cpu';

type Args = { inputs: Record<string, TensorInfo>; backend: MathBackendCPU | BackendWasm; attrs: NamedAttrMap };

/**
 * Reading and writing float32 tensors where a backend keeps them. `output` allocates first and
 * then calls `fill` with the output's array, so on wasm (where an allocation can grow the heap and
 * detach earlier views) the inputs are read inside `fill`, after the allocation.
 */
interface HostTensors {
  read(info: TensorInfo): Float32Array;
  output(shape: number[], fill: (out: Float32Array) => void): TensorInfo;
}

function hostTensors(backendName: HostBackendName, args: Args): HostTensors {
  if (backendName === 'wasm') {
    const wasm = wasmInternals(args.backend as BackendWasm);
    return {
      read: (info) => wasm.typedArrayFromHeap(info) as Float32Array,
      output: (shape, fill) => {
        const info = wasm.makeOutput(shape, 'float32');
        if (util.sizeFromShape(shape) > 0) fill(wasm.typedArrayFromHeap(info) as Float32Array);
        return info;
      },
    };
  }
  const cpu = args.backend as MathBackendCPU;
  return {
    read: (info) => cpuFloats(cpu, info),
    output: (shape, fill) => {
      const values = uninitializedFloats(util.sizeFromShape(shape));
      fill(values);
      return cpu.makeTensorInfo(shape, 'float32', values);
    },
  };
}

/** A native kernel body: its output, or undefined where it leaves the case to tfjs's own kernel. */
type NativeBody = (args: Args, host: HostTensors, addon: BlasAddon) => TensorInfo | undefined;

const floats = (...infos: TensorInfo[]) => infos.every((info) => info.dtype === 'float32');

function binary(op: (typeof BINARY_OPS)[number]): NativeBody {
  const code = BINARY_OPS.indexOf(op);
  return (args, host, addon) => {
    const { a, b } = args.inputs;
    if (!floats(a, b)) return undefined;
    const shape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    return host.output(shape, (out) => addon.binary(code, host.read(a), a.shape, host.read(b), b.shape, out, shape));
  };
}

function unary(op: (typeof UNARY_OPS)[number]): NativeBody {
  const code = UNARY_OPS.indexOf(op);
  return (args, host, addon) => {
    const { x } = args.inputs;
    if (!floats(x)) return undefined;
    return host.output(x.shape, (out) => addon.unary(code, host.read(x), out));
  };
}

/**
 * A reduction over adjacent axes: the tensor seen as [outer, reduced, inner]. The mean divides
 * every element by the count first, then sums, as tfjs's own Mean does.
 */
function reduce(op: (typeof REDUCE_OPS)[number] | 'mean', axisAttr: 'axis' | 'reductionIndices'): NativeBody {
  const code = REDUCE_OPS.indexOf(op === 'mean' ? 'sum' : op);
  return (args, host, addon) => {
    const { x } = args.inputs;
    if (!floats(x)) return undefined;
    const axes = util.parseAxisParam(args.attrs[axisAttr] as number | number[], x.shape).sort((p, q) => p - q);
    if (axes.some((axis, i) => i > 0 && axis !== axes[i - 1] + 1)) return undefined;
    const size = (from: number, to: number) => util.sizeFromShape(x.shape.slice(from, to));
    const [first, last] = [axes[0] ?? 0, (axes[axes.length - 1] ?? -1) + 1];
    const kept = x.shape.map((d, i) => (axes.includes(i) ? (args.attrs.keepDims === true ? 1 : -1) : d));
    return host.output(
      kept.filter((d) => d >= 0),
      (out) => {
        let input = host.read(x);
        if (op === 'mean') {
          const divided = new Float32Array(input.length);
          addon.binary(
            BINARY_OPS.indexOf('div'),
            input,
            x.shape,
            new Float32Array([size(first, last)]),
            [],
            divided,
            x.shape,
          );
          input = divided;
        }
        addon.reduce(code, input, size(0, first), size(first, last), size(last, x.shape.length), out);
      },
    );
  };
}

const softmax: NativeBody = (args, host, addon) => {
  const { logits } = args.inputs;
  const rank = logits.shape.length;
  const dim = args.attrs.dim as number;
  if (!floats(logits) || rank === 0 || (dim !== -1 && dim !== rank - 1)) return undefined;
  const columns = logits.shape[rank - 1];
  const rows = util.sizeFromShape(logits.shape) / Math.max(columns, 1);
  return host.output(logits.shape, (out) => addon.softmax(host.read(logits), rows, columns, out));
};

const slice: NativeBody = (args, host, addon) => {
  const { x } = args.inputs;
  if (!floats(x)) return undefined;
  const [begin, size] = slice_util.parseSliceParams(
    x as unknown as Parameters<typeof slice_util.parseSliceParams>[0],
    args.attrs.begin as number[],
    args.attrs.size as number[],
  );
  slice_util.assertParamsValid(x as unknown as Parameters<typeof slice_util.assertParamsValid>[0], begin, size);
  return host.output(size, (out) => addon.slice(host.read(x), x.shape, begin, size, out));
};

const transpose: NativeBody = (args, host, addon) => {
  const { x } = args.inputs;
  if (!floats(x)) return undefined;
  const perm = args.attrs.perm as number[];
  return host.output(
    perm.map((axis) => x.shape[axis]),
    (out) => addon.transpose(host.read(x), x.shape, perm, out),
  );
};

const pad: NativeBody = (args, host, addon) => {
  const { x } = args.inputs;
  if (!floats(x)) return undefined;
  const paddings = args.attrs.paddings as Array<[number, number]>;
  const shape = x.shape.map((d, i) => paddings[i][0] + d + paddings[i][1]);
  const before = paddings.map((p) => p[0]);
  const value = args.attrs.constantValue as number;
  return host.output(shape, (out) => addon.pad(host.read(x), x.shape, before, shape, value, out));
};

/** Each kernel the addon serves, by tfjs kernel name. */
const bodies: Record<string, NativeBody> = {
  [Add]: binary('add'),
  [Sub]: binary('sub'),
  [Multiply]: binary('mul'),
  [RealDiv]: binary('div'),
  [SquaredDifference]: binary('squaredDifference'),
  [Maximum]: binary('maximum'),
  [Minimum]: binary('minimum'),
  [Exp]: unary('exp'),
  [Log]: unary('log'),
  [Neg]: unary('neg'),
  [Sqrt]: unary('sqrt'),
  [Rsqrt]: unary('rsqrt'),
  [Square]: unary('square'),
  [Sigmoid]: unary('sigmoid'),
  [Tanh]: unary('tanh'),
  [Abs]: unary('abs'),
  [Reciprocal]: unary('reciprocal'),
  [Sum]: reduce('sum', 'axis'),
  [Mean]: reduce('mean', 'axis'),
  [Max]: reduce('max', 'reductionIndices'),
  [Min]: reduce('min', 'axis'),
  [Softmax]: softmax,
  [Slice]: slice,
  [Transpose]: transpose,
  [PadV2]: pad,
};

/** The kernels the addon serves on the cpu backend: every one. */
export const nativeCpuKernelNames = Object.keys(bodies);

/**
 * The ones it serves on wasm: data movement, whose wasm kernels walk elements by index (a rank-5
 * Transpose took 60 ms for 1M elements). wasm's own arithmetic, reductions and softmax are SIMD
 * and as fast as these or faster, so they stay.
 */
export const nativeWasmKernelNames = [Slice, Transpose, PadV2];

/**
 * The addon's float32 kernels on a host-memory backend; any other dtype or case goes to tfjs's
 * own kernel, which `stock` returns.
 */
export function nativeKernelConfigs(
  backendName: HostBackendName,
  addon: BlasAddon,
  stock: (kernelName: string) => KernelFunc,
): KernelConfig[] {
  const names = backendName === 'cpu' ? nativeCpuKernelNames : nativeWasmKernelNames;
  return names.map((kernelName) => ({
    kernelName,
    backendName,
    kernelFunc: ((args: Args) =>
      bodies[kernelName](args, hostTensors(backendName, args), addon) ??
      stock(kernelName)(args as never)) as unknown as KernelFunc,
  }));
}
