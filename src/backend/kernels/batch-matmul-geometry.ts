import { broadcast_util, util, type TensorInfo } from '@tensorflow/tfjs-core';

/** The sizes of a batched product op(A) op(B), as every BatchMatMul kernel of lonas reads them. */
export interface MatMulGeometry {
  m: number;
  k: number;
  n: number;
  aBatchShape: number[];
  bBatchShape: number[];
  outBatchShape: number[];
  outBatch: number;
}

/** Checks dtypes and inner sizes (with tfjs's own message) and broadcasts the batch axes. */
export function matMulGeometry(
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  backendName: string,
): MatMulGeometry {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new Error(`matMul on ${backendName} takes float32 tensors, got ${a.dtype} and ${b.dtype}`);
  }
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  const m = transposeA ? a.shape[aRank - 1] : a.shape[aRank - 2];
  const kA = transposeA ? a.shape[aRank - 2] : a.shape[aRank - 1];
  const kB = transposeB ? b.shape[bRank - 1] : b.shape[bRank - 2];
  const n = transposeB ? b.shape[bRank - 2] : b.shape[bRank - 1];
  util.assert(
    kA === kB,
    () =>
      `Error in matMul: inner shapes (${kA}) and (${kB}) of Tensors with shapes ${a.shape} and ` +
      `${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
  );
  const aBatchShape = a.shape.slice(0, -2);
  const bBatchShape = b.shape.slice(0, -2);
  const outBatchShape = broadcast_util.assertAndGetBroadcastShape(aBatchShape, bBatchShape);
  return { m, k: kA, n, aBatchShape, bBatchShape, outBatchShape, outBatch: util.sizeFromShape(outBatchShape) };
}

/** Index into an operand's flattened batch for output batch entry `outIndex` (numpy broadcasting). */
export function broadcastBatchIndex(outBatchShape: number[], operandBatchShape: number[], outIndex: number): number {
  let index = 0;
  let stride = 1;
  let rest = outIndex;
  for (let axis = outBatchShape.length - 1; axis >= 0; axis--) {
    const coordinate = rest % outBatchShape[axis];
    rest = Math.floor(rest / outBatchShape[axis]);
    const operandAxis = axis - (outBatchShape.length - operandBatchShape.length);
    if (operandAxis < 0) continue;
    const size = operandBatchShape[operandAxis];
    if (size !== 1) index += coordinate * stride;
    stride *= size;
  }
  return index;
}
