import * as tf from '@tensorflow/tfjs-core';
import { blasAddon } from '../backend/kernels/blas-addon';
import { hostGemm, type MatrixBlock } from '../backend/host-gemm';
import { hostMemoryBackend, hostView } from '../backend/host-view';

const addon = blasAddon().addon;

/** A LoRA layer's tensors and the block of them a subnetwork uses. */
export interface LoraProductParts {
  /** Frozen [IN, OUT]. */
  weight: tf.Tensor2D;
  /** Frozen [OUT], if any. */
  bias?: tf.Tensor1D;
  /** [IN, R] and [R, OUT], trainable. */
  loraA: tf.Tensor2D;
  loraB: tf.Tensor2D;
  inFeatures: number;
  outFeatures: number;
  rank: number;
  scaling: number;
}

/** A LoRA layer's weights as host arrays (read in place), with the block a subnetwork uses. */
export interface HostLoraWeights {
  /** [IN, OUT] row-major. */
  weight: Float32Array;
  /** OUT: the row stride of W and B. */
  stride: number;
  bias?: Float32Array;
  /** A [IN, R] (row stride R) and B [R, OUT], at the active rank. */
  lora?: { a: Float32Array; maxRank: number; b: Float32Array; rank: number; scaling: number };
  inFeatures: number;
  outFeatures: number;
}

const block = (data: Float32Array, stride: number): MatrixBlock => ({ data, offset: 0, stride });

/**
 * y [m, out] = b + x W[:in, :out] + (scaling xd A[:in, :r]) B[:r, :out] on host arrays, the
 * products accumulating into y; also the scaled down-projection, which B's gradient needs. The
 * forward of both the fused operation and host decoding and scoring, so they agree to the bit.
 */
export function hostLoraForward(
  layer: HostLoraWeights,
  x: Float32Array,
  xd: Float32Array,
  m: number,
): { y: Float32Array; down?: Float32Array } {
  const { weight, stride, bias, lora, inFeatures, outFeatures } = layer;
  const y = new Float32Array(m * outFeatures);
  if (bias !== undefined) for (let i = 0; i < m; i++) y.set(bias.subarray(0, outFeatures), i * outFeatures);
  hostGemm(m, outFeatures, inFeatures, block(x, inFeatures), block(weight, stride), block(y, outFeatures), true);
  if (lora === undefined) return { y };
  const down = new Float32Array(m * lora.rank);
  hostGemm(m, lora.rank, inFeatures, block(xd, inFeatures), block(lora.a, lora.maxRank), block(down, lora.rank));
  for (let i = 0; i < down.length; i++) down[i] *= lora.scaling;
  hostGemm(m, outFeatures, lora.rank, block(down, lora.rank), block(lora.b, stride), block(y, outFeatures), true);
  return { y, down };
}

/** Copies the rows x columns block at the start of `block` into the top-left of a zeroed [rows', columns'] array. */
function embedBlock(block: Float32Array, rows: number, columns: number, shape: [number, number]): Float32Array {
  if (shape[0] === rows && shape[1] === columns) return block;
  const full = new Float32Array(shape[0] * shape[1]);
  for (let i = 0; i < rows; i++) full.set(block.subarray(i * columns, (i + 1) * columns), i * shape[1]);
  return full;
}

/**
 * y = x W[:in, :out] + b[:out] + scaling (xd A[:in, :r]) B[:r, :out] as one operation with its
 * own gradient, every product on OpenBLAS with the weights read in place at their row strides
 * (xd is x after LoRA's dropout, or x itself). tfjs's composition of the same (two slices, three
 * products, a scaling and two sums) keeps the [rows, out] LoRA product for the scaling's
 * gradient; this keeps only xd and the [rows, r] product xd A. A and B get full-size gradients,
 * zero outside the active block, as a product through slices gives them. Undefined where that
 * path is not there (no addon, tensors outside host memory): the caller composes it.
 */
export function loraProduct(x: tf.Tensor2D, dropped: tf.Tensor2D, parts: LoraProductParts): tf.Tensor2D | undefined {
  if (addon === undefined || !hostMemoryBackend()) return undefined;
  const blas = addon;
  const { weight, bias, loraA, loraB, inFeatures: inWidth, outFeatures: outWidth, rank, scaling } = parts;
  const [rows] = x.shape;
  const [stride, maxRank] = [weight.shape[1], loraA.shape[1]];
  const separate = dropped !== x;
  const product = tf.customGrad(((...args: tf.Tensor[]) => {
    const [input, lowRankInput, a, b] = separate ? args : [args[0], args[0], args[1], args[2]];
    const save = args[args.length - 1] as unknown as tf.GradSaveFunc;
    save([lowRankInput]);
    const { y, down } = hostLoraForward(
      {
        weight: hostView(weight),
        stride,
        bias: bias === undefined ? undefined : hostView(bias),
        lora: { a: hostView(a), maxRank, b: hostView(b), rank, scaling },
        inFeatures: inWidth,
        outFeatures: outWidth,
      },
      hostView(input),
      hostView(lowRankInput),
      rows,
    ) as { y: Float32Array; down: Float32Array };
    return {
      value: tf.tensor2d(y, [rows, outWidth]),
      gradFunc: (dy: tf.Tensor2D, [savedInput]: tf.Tensor[]) => {
        const dyValues = hostView(dy);
        const xd = hostView(savedInput);
        const [aValues, bValues] = [hostView(a), hostView(b)];
        // dx = dy W^T (+ the low-rank branch's, when xd is x itself).
        const dx = new Float32Array(rows * inWidth);
        blas.sgemm(
          rows,
          inWidth,
          outWidth,
          dyValues,
          0,
          outWidth,
          hostView(weight),
          0,
          stride,
          dx,
          0,
          inWidth,
          0,
          true,
        );
        // up = scaling * dy B^T: the gradient at xd A.
        const up = new Float32Array(rows * rank);
        blas.sgemm(rows, rank, outWidth, dyValues, 0, outWidth, bValues, 0, stride, up, 0, rank, 0, true);
        for (let i = 0; i < up.length; i++) up[i] *= scaling;
        const dxd = separate ? new Float32Array(rows * inWidth) : dx;
        blas.sgemm(rows, inWidth, rank, up, 0, rank, aValues, 0, maxRank, dxd, 0, inWidth, separate ? 0 : 1, true);
        // dA = xd^T up, dB = down^T dy, each on the active block.
        const dA = new Float32Array(inWidth * rank);
        const dB = new Float32Array(rank * outWidth);
        const first = new Int32Array([0]);
        blas.sgemmBatch(true, false, inWidth, rank, rows, xd, up, dA, first, first, first);
        blas.sgemmBatch(true, false, rank, outWidth, rows, down, dyValues, dB, first, first, first);
        const grads = [
          tf.tensor2d(dx, [rows, inWidth]),
          tf.tensor2d(embedBlock(dA, inWidth, rank, [loraA.shape[0], maxRank]), loraA.shape),
          tf.tensor2d(embedBlock(dB, rank, outWidth, [maxRank, stride]), loraB.shape),
        ];
        if (separate) grads.splice(1, 0, tf.tensor2d(dxd, [rows, inWidth]));
        return grads;
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...inputs: tf.Tensor[]) => tf.Tensor2D;
  return separate ? product(x, dropped, loraA, loraB) : product(x, loraA, loraB);
}
