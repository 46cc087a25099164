import * as tf from '@tensorflow/tfjs-core';

export interface AdamWSettings {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
}

/** torch.optim.AdamW's defaults (the `adamw_torch` LoNAS trains with). */
export const torchAdamW: AdamWSettings = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 };

/**
 * AdamW as torch.optim.AdamW computes it: decoupled weight decay p <- p (1 - lr wd), then
 * p <- p - lr m^ / (sqrt(v^) + eps) with bias-corrected moments. Its state (step count and the
 * moments) can be read out and restored for checkpoints.
 */
export class AdamW {
  step = 0;
  readonly moments: Array<{ m: tf.Variable; v: tf.Variable }>;

  constructor(
    readonly variables: tf.Variable[],
    readonly settings: AdamWSettings = torchAdamW,
  ) {
    this.moments = variables.map((p) => ({
      m: tf.variable(tf.zerosLike(p), false),
      v: tf.variable(tf.zerosLike(p), false),
    }));
  }

  /** Applies one update with gradients in the order of `variables`. */
  apply(gradients: tf.Tensor[], lr: number): void {
    const { beta1, beta2, epsilon, weightDecay } = this.settings;
    this.step += 1;
    const correction1 = 1 - beta1 ** this.step;
    const correction2 = 1 - beta2 ** this.step;
    tf.tidy(() => {
      this.variables.forEach((p, i) => {
        const { m, v } = this.moments[i];
        const g = gradients[i];
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
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

/** Scales gradients so their global L2 norm is at most `maxNorm` (torch's clip_grad_norm_); returns the norm before. */
export function clipByGlobalNorm(gradients: tf.Tensor[], maxNorm: number): { clipped: tf.Tensor[]; norm: number } {
  const norm = tf.tidy(() => tf.sqrt(tf.addN(gradients.map((g) => tf.sum(tf.square(g))))).dataSync()[0]);
  // torch: clip_coef = max_norm / (total_norm + 1e-6), applied when below 1.
  const coefficient = maxNorm / (norm + 1e-6);
  if (coefficient >= 1) return { clipped: gradients.map((g) => g.clone()), norm };
  return { clipped: gradients.map((g) => tf.mul(g, coefficient)), norm };
}
