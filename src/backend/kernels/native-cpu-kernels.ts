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
import { cpuFloats } from '../host-view';
import { BINARY_OPS, REDUCE_OPS, UNARY_OPS, type BlasAddon } from './blas-addon';

type Args = { inputs: Record<string, TensorInfo>; backend: MathBackendCPU; attrs: NamedAttrMap };
/** A native kernel body: its output, or undefined where it leaves the case to tfjs's own kernel. */
type NativeBody = (args: Args, addon: BlasAddon) => TensorInfo | undefined;

const read = (args: Args, info: TensorInfo): Float32Array => cpuFloats(args.backend, info);
const floats = (...infos: TensorInfo[]) => infos.every((info) => info.dtype === 'float32');
const output = (args: Args, shape: number[], values: Float32Array) =>
  args.backend.makeTensorInfo(shape, 'float32', values);

function binary(op: (typeof BINARY_OPS)[number]): NativeBody {
  const code = BINARY_OPS.indexOf(op);
  return (args, addon) => {
    const { a, b } = args.inputs;
    if (!floats(a, b)) return undefined;
    const shape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const values = new Float32Array(util.sizeFromShape(shape));
    addon.binary(code, read(args, a), a.shape, read(args, b), b.shape, values, shape);
    return output(args, shape, values);
  };
}

function unary(op: (typeof UNARY_OPS)[number]): NativeBody {
  const code = UNARY_OPS.indexOf(op);
  return (args, addon) => {
    const { x } = args.inputs;
    if (!floats(x)) return undefined;
    const values = new Float32Array(util.sizeFromShape(x.shape));
    addon.unary(code, read(args, x), values);
    return output(args, x.shape, values);
  };
}

/**
 * A reduction over adjacent axes: the tensor seen as [outer, reduced, inner]. The mean divides
 * every element by the count first, then sums, as tfjs's own Mean does.
 */
function reduce(op: (typeof REDUCE_OPS)[number] | 'mean', axisAttr: 'axis' | 'reductionIndices'): NativeBody {
  const code = REDUCE_OPS.indexOf(op === 'mean' ? 'sum' : op);
  return (args, addon) => {
    const { x } = args.inputs;
    if (!floats(x)) return undefined;
    const axes = util.parseAxisParam(args.attrs[axisAttr] as number | number[], x.shape).sort((p, q) => p - q);
    if (axes.some((axis, i) => i > 0 && axis !== axes[i - 1] + 1)) return undefined;
    const size = (from: number, to: number) => util.sizeFromShape(x.shape.slice(from, to));
    const [first, last] = [axes[0] ?? 0, (axes[axes.length - 1] ?? -1) + 1];
    const values = new Float32Array(size(0, first) * size(last, x.shape.length));
    let input = read(args, x);
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
    addon.reduce(code, input, size(0, first), size(first, last), size(last, x.shape.length), values);
    const kept = x.shape.map((d, i) => (axes.includes(i) ? (args.attrs.keepDims === true ? 1 : -1) : d));
    return output(
      args,
      kept.filter((d) => d >= 0),
      values,
    );
  };
}

const softmax: NativeBody = (args, addon) => {
  const { logits } = args.inputs;
  const rank = logits.shape.length;
  const dim = args.attrs.dim as number;
  if (!floats(logits) || rank === 0 || (dim !== -1 && dim !== rank - 1)) return undefined;
  const columns = logits.shape[rank - 1];
  const values = new Float32Array(util.sizeFromShape(logits.shape));
  addon.softmax(read(args, logits), values.length / Math.max(columns, 1), columns, values);
  return output(args, logits.shape, values);
};

const slice: NativeBody = (args, addon) => {
  const { x } = args.inputs;
  if (!floats(x)) return undefined;
  const [begin, size] = slice_util.parseSliceParams(
    x as unknown as Parameters<typeof slice_util.parseSliceParams>[0],
    args.attrs.begin as number[],
    args.attrs.size as number[],
  );
  slice_util.assertParamsValid(x as unknown as Parameters<typeof slice_util.assertParamsValid>[0], begin, size);
  const values = new Float32Array(util.sizeFromShape(size));
  addon.slice(read(args, x), x.shape, begin, size, values);
  return output(args, size, values);
};

const transpose: NativeBody = (args, addon) => {
  const { x } = args.inputs;
  if (!floats(x)) return undefined;
  const perm = args.attrs.perm as number[];
  const values = new Float32Array(util.sizeFromShape(x.shape));
  addon.transpose(read(args, x), x.shape, perm, values);
  return output(
    args,
    perm.map((axis) => x.shape[axis]),
    values,
  );
};

const pad: NativeBody = (args, addon) => {
  const { x } = args.inputs;
  if (!floats(x)) return undefined;
  const paddings = args.attrs.paddings as Array<[number, number]>;
  const shape = x.shape.map((d, i) => paddings[i][0] + d + paddings[i][1]);
  const values = new Float32Array(util.sizeFromShape(shape));
  addon.pad(
    read(args, x),
    x.shape,
    paddings.map((p) => p[0]),
    shape,
    args.attrs.constantValue as number,
    values,
  );
  return output(args, shape, values);
};

/** Each kernel the addon serves on the cpu backend, by tfjs kernel name. */
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

/** The kernels the addon serves on the cpu backend. */
export const nativeCpuKernelNames = Object.keys(bodies);

/**
 * The cpu backend's float32 elementwise, reduction (sum, mean, max, min), softmax, slice, transpose and pad kernels on
 * the native addon; any other dtype or case goes to tfjs's own kernel, which `stock` returns.
 */
export function cpuNativeKernelConfigs(addon: BlasAddon, stock: (kernelName: string) => KernelFunc): KernelConfig[] {
  return Object.entries(bodies).map(([kernelName, body]) => ({
    kernelName,
    backendName: 'cpu',
    kernelFunc: ((args: Args) => body(args, addon) ?? stock(kernelName)(args as never)) as unknown as KernelFunc,
  }));
}
