import type * as tf from '@tensorflow/tfjs-core';
import { hostGemm, type MatrixBlock } from '../backend/host-gemm';
import { hostView } from '../backend/host-view';
import { ElasticLinear } from './elastic-linear';
import { Linear, type LinearLayer } from './linear';

/** A linear layer applied on host arrays, at the widths its subnetwork gives it. */
export interface HostLinear {
  readonly path: string;
  /** Active widths. */
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** y [m, out] = x [m, in] W + b (+ scaling (x A) B), the same as the layer's forward. */
  apply(x: Float32Array, m: number): Float32Array;
}

interface Parts {
  weight: tf.Tensor2D;
  bias?: tf.Tensor1D;
  lora?: { a: tf.Tensor2D; b: tf.Tensor2D; rank: number; scaling: number };
  inFeatures: number;
  outFeatures: number;
}

function parts(layer: LinearLayer): Parts | undefined {
  if (layer instanceof Linear) {
    return { weight: layer.weight, bias: layer.bias, inFeatures: layer.inFeatures, outFeatures: layer.outFeatures };
  }
  // Training's dropout has no host form; generation runs without it.
  if (!(layer instanceof ElasticLinear) || layer.dropoutSeed !== undefined) return undefined;
  const { inFeatures, outFeatures, rank } = layer.widths;
  const base = { weight: layer.base.weight, bias: layer.base.bias, inFeatures, outFeatures };
  if (layer.loraA === undefined || layer.loraB === undefined || rank === 0) return base;
  return { ...base, lora: { a: layer.loraA, b: layer.loraB, rank, scaling: layer.scaling } };
}

/** A whole row-major array, or the leading columns of one with `stride` columns, from element 0. */
const block = (data: Float32Array, stride: number): MatrixBlock => ({ data, offset: 0, stride });

/**
 * The host form of a plain or elastic LoRA linear layer, or undefined for a layer it cannot
 * mirror. Weights are read in place (no copy, taken at each call): the slices a subnetwork
 * selects are strided blocks of the full weights.
 */
export function hostLinear(layer: LinearLayer): HostLinear | undefined {
  const p = parts(layer);
  if (p === undefined) return undefined;
  const { inFeatures, outFeatures } = p;
  const fullOut = p.weight.shape[1];
  return {
    path: layer.path,
    inFeatures,
    outFeatures,
    apply(x, m) {
      const y = new Float32Array(m * outFeatures);
      const input = block(x, inFeatures);
      hostGemm(m, outFeatures, inFeatures, input, block(hostView(p.weight), fullOut), block(y, outFeatures));
      if (p.bias !== undefined) {
        const bias = hostView(p.bias);
        for (let i = 0; i < m; i++) for (let j = 0; j < outFeatures; j++) y[i * outFeatures + j] += bias[j];
      }
      if (p.lora !== undefined) {
        const { a, b, rank, scaling } = p.lora;
        const low = new Float32Array(m * rank);
        hostGemm(m, rank, inFeatures, input, block(hostView(a), a.shape[1]), block(low, rank));
        const update = new Float32Array(m * outFeatures);
        hostGemm(m, outFeatures, rank, block(low, rank), block(hostView(b), b.shape[1]), block(update, outFeatures));
        for (let i = 0; i < y.length; i++) y[i] += update[i] * scaling;
      }
      return y;
    },
  };
}
