import type * as tf from '@tensorflow/tfjs-core';
import { hostView } from '../backend/host-view';
import { ElasticLinear } from './elastic-linear';
import { Linear, type LinearLayer } from './linear';
import { hostLoraForward, type HostLoraWeights } from './lora-product';

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

/**
 * The host form of a plain or elastic LoRA linear layer, or undefined for a layer it cannot
 * mirror. Weights are read in place (no copy, taken at each call): the slices a subnetwork
 * selects are strided blocks of the full weights.
 */
export function hostLinear(layer: LinearLayer): HostLinear | undefined {
  const p = parts(layer);
  if (p === undefined) return undefined;
  const { inFeatures, outFeatures } = p;
  return {
    path: layer.path,
    inFeatures,
    outFeatures,
    apply(x, m) {
      const lora = p.lora;
      const weights: HostLoraWeights = {
        weight: hostView(p.weight),
        stride: p.weight.shape[1],
        bias: p.bias === undefined ? undefined : hostView(p.bias),
        lora:
          lora === undefined
            ? undefined
            : {
                a: hostView(lora.a),
                maxRank: lora.a.shape[1],
                b: hostView(lora.b),
                rank: lora.rank,
                scaling: lora.scaling,
              },
        inFeatures,
        outFeatures,
      };
      const y = new Float32Array(m * outFeatures);
      hostLoraForward(weights, x, x, m, y);
      return y;
    },
  };
}
