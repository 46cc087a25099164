import * as tf from '@tensorflow/tfjs-core';
import { sumAll } from '../nn/sum-all';

/** transformers 4.31's `--optim` names for the two AdamW implementations it offers. */
export type AdamWVariant = 'adamw_hf' | 'adamw_torch';

export interface AdamWSettings {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** Whose arithmetic: torch.optim.AdamW's or transformers.optimization.AdamW's. */
  variant?: AdamWVariant;
}

/** torch.optim.AdamW's defaults (the `adamw_torch` LoNAS trains the LLMs with). */
export const torchAdamW: AdamWSettings = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 };

/**
 * AdamW with decoupled weight decay and bias-corrected moments, as either library computes it:
 * - `adamw_torch` (torch.optim.AdamW): p <- p (1 - lr wd), then p <- p - lr m^ / (sqrt(v^) + eps);
 * - `adamw_hf` (transformers' AdamW, the Trainer's default): p <- p - lr' m / (sqrt(v) + eps)
 *   with lr' = lr sqrt(1 - b2^t) / (1 - b1^t), then p <- p - lr wd p.
 * Variables in `noDecay` (biases, as the Trainer groups them) take no weight decay. Its state (step
 * count and the moments) can be read out and restored for checkpoints.
 */
export class AdamW {
  step = 0;
  readonly moments: Array<{ m: tf.Variable; v: tf.Variable }>;

  constructor(
    readonly variables: tf.Variable[],
    readonly settings: AdamWSettings = torchAdamW,
    readonly noDecay: ReadonlySet<tf.Variable> = new Set(),
  ) {
    this.moments = variables.map((p) => ({
      m: tf.variable(tf.zerosLike(p), false),
      v: tf.variable(tf.zerosLike(p), false),
    }));
  }

  /** Applies one update with gradients in the order of `variables`. */
  apply(gradients: tf.Tensor[], lr: number): void {
    const { beta1, beta2, epsilon } = this.settings;
    this.step += 1;
    const correction1 = 1 - beta1 ** this.step;
    const correction2 = 1 - beta2 ** this.step;
    tf.tidy(() => {
      this.variables.forEach((p, i) => {
        const { m, v } = this.moments[i];
        const g = gradients[i];
        const weightDecay = this.noDecay.has(p) ? 0 : this.settings.weightDecay;
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        if (this.settings.variant === 'adamw_hf') {
          const stepSize = (lr * Math.sqrt(correction2)) / correction1;
          const updated = tf.sub(p, tf.mul(tf.div(m, tf.add(tf.sqrt(v), epsilon)), stepSize));
          p.assign(weightDecay === 0 ? updated : tf.sub(updated, tf.mul(updated, lr * weightDecay)));
          return;
        }
        const decayed = weightDecay === 0 ? p : tf.mul(p, 1 - lr * weightDecay);
        const update = tf.div(tf.div(m, correction1), tf.add(tf.sqrt(tf.div(v, correction2)), epsilon));
        p.assign(tf.sub(decayed, tf.mul(update, lr)));
      });
    });
  }

  dispose(): void {
    tf.dispose(this.moments.flatMap(({ m, v }) => [m, v]));
  }
}

/** The gradients' global L2 norm, as a scalar (read back by the caller: awaited on a GPU). */
export function globalNorm(gradients: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => tf.sqrt(sumAll(gradients.map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
}

/** Scales gradients of global L2 norm `norm` so that it is at most `maxNorm` (torch's clip_grad_norm_). */
export function clipToNorm(gradients: tf.Tensor[], norm: number, maxNorm: number): tf.Tensor[] {
  // torch: clip_coef = max_norm / (total_norm + 1e-6), applied when below 1.
  const coefficient = maxNorm / (norm + 1e-6);
  if (coefficient >= 1) return gradients.map((g) => g.clone());
  return gradients.map((g) => tf.mul(g, coefficient));
}
