import * as tf from '@tensorflow/tfjs-core';
import { hostGemm, type MatrixBlock } from '../backend/host-gemm';
import { filledHostTensors, hostView } from '../backend/host-view';
import { fusedAddon } from './host-fused';

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
 * y [m, out] = b + x W[:in, :out] + (scaling xd A[:in, :r]) B[:r, :out] on host arrays, into `y`,
 * the products accumulating there; returns the scaled down-projection, which B's gradient needs.
 * The forward of both the fused operation and host decoding and scoring, so they agree to the bit.
 */
export function hostLoraForward(
  layer: HostLoraWeights,
  x: Float32Array,
  xd: Float32Array,
  m: number,
  y: Float32Array,
): Float32Array | undefined {
  const { weight, stride, bias, lora, inFeatures, outFeatures } = layer;
  if (bias === undefined) y.fill(0, 0, m * outFeatures);
  else if (m > 0) {
    // The bias in row 0, then copied in doubling spans: a few copies instead of one per row.
    y.set(bias.subarray(0, outFeatures));
    for (let filled = outFeatures; filled < m * outFeatures; filled *= 2) {
      y.copyWithin(filled, 0, Math.min(filled, m * outFeatures - filled));
    }
  }
  hostGemm(m, outFeatures, inFeatures, block(x, inFeatures), block(weight, stride), block(y, outFeatures), true);
  if (lora === undefined) return undefined;
  const down = new Float32Array(m * lora.rank);
  hostGemm(m, lora.rank, inFeatures, block(xd, inFeatures), block(lora.a, lora.maxRank), block(down, lora.rank));
  for (let i = 0; i < down.length; i++) down[i] *= lora.scaling;
  hostGemm(m, outFeatures, lora.rank, block(down, lora.rank), block(lora.b, stride), block(y, outFeatures), true);
  return down;
}

/** Writes the [rows, columns] `block` into the top-left of `full` (row stride `stride`), zeros elsewhere. */
function embedBlock(block: Float32Array, rows: number, columns: number, full: Float32Array, stride: number): void {
  if (columns === stride) {
    full.set(block);
    full.fill(0, block.length);
    return;
  }
  full.fill(0);
  for (let i = 0; i < rows; i++) full.set(block.subarray(i * columns, (i + 1) * columns), i * stride);
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
  const blas = fusedAddon();
  if (blas === undefined) return undefined;
  const { weight, bias, loraA, loraB, inFeatures: inWidth, outFeatures: outWidth, rank, scaling } = parts;
  const [rows] = x.shape;
  const [stride, maxRank] = [weight.shape[1], loraA.shape[1]];
  const separate = dropped !== x;
  const product = tf.customGrad(((...args: tf.Tensor[]) => {
    const [input, lowRankInput, a, b] = separate ? args : [args[0], args[0], args[1], args[2]];
    const save = args[args.length - 1] as unknown as tf.GradSaveFunc;
    save([lowRankInput]);
    let down: Float32Array = new Float32Array(0);
    const [value] = filledHostTensors([[rows, outWidth]], ([y]) => {
      const weights: HostLoraWeights = {
        weight: hostView(weight),
        stride,
        bias: bias === undefined ? undefined : hostView(bias),
        lora: { a: hostView(a), maxRank, b: hostView(b), rank, scaling },
        inFeatures: inWidth,
        outFeatures: outWidth,
      };
      down = hostLoraForward(weights, hostView(input), hostView(lowRankInput), rows, y) as Float32Array;
    });
    return {
      value,
      gradFunc: (dy: tf.Tensor2D, [savedInput]: tf.Tensor[]) => {
        const shapes = [[rows, inWidth], ...(separate ? [[rows, inWidth]] : []), loraA.shape, loraB.shape];
        return filledHostTensors(shapes, (outs) => {
          const [dx, dA, dB] = [outs[0], outs[outs.length - 2], outs[outs.length - 1]];
          const dxd = separate ? outs[1] : dx;
          const [dyValues, xd, aValues, bValues] = [dy, savedInput, a, b].map(hostView);
          // dx = dy W^T (+ the low-rank branch's, when xd is x itself).
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
          blas.sgemm(rows, inWidth, rank, up, 0, rank, aValues, 0, maxRank, dxd, 0, inWidth, separate ? 0 : 1, true);
          // dA = xd^T up, dB = down^T dy, each on the active block.
          const [blockA, blockB] = [new Float32Array(inWidth * rank), new Float32Array(rank * outWidth)];
          const first = new Int32Array([0]);
          blas.sgemmBatch(true, false, inWidth, rank, rows, xd, up, blockA, first, first, first);
          blas.sgemmBatch(true, false, rank, outWidth, rows, down, dyValues, blockB, first, first, first);
          embedBlock(blockA, inWidth, rank, dA, maxRank);
          embedBlock(blockB, rank, outWidth, dB, stride);
        });
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...inputs: tf.Tensor[]) => tf.Tensor2D;
  return separate ? product(x, dropped, loraA, loraB) : product(x, loraA, loraB);
}
