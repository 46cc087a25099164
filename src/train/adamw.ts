import * as tf from '@tensorflow/tfjs-core';
import { hostMemoryBackend, hostView } from '../backend/host-view';
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
  /**
   * Where the update runs: one pass over host arrays, or tfjs kernels. Default: on the host where
   * the backend keeps tensors in host memory (wasm, cpu), else kernels.
   */
  updateOn?: 'host' | 'kernels';
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
    this.step += 1;
    if ((this.settings.updateOn ?? (hostMemoryBackend() ? 'host' : 'kernels')) === 'host')
      this.applyOnHost(gradients, lr);
    else this.applyWithKernels(gradients, lr);
  }

  /**
   * The update as one pass over each variable's host arrays, in double: tfjs operations take a
   * dozen kernel calls per variable, which at small sizes cost more than their arithmetic.
   */
  private applyOnHost(gradients: tf.Tensor[], lr: number): void {
    const { beta1, beta2, epsilon, variant } = this.settings;
    const correction1 = 1 - beta1 ** this.step;
    const correction2 = 1 - beta2 ** this.step;
    const stepSize = (lr * Math.sqrt(correction2)) / correction1;
    this.variables.forEach((p, i) => {
      const { m, v } = this.moments[i];
      const decay = lr * (this.noDecay.has(p) ? 0 : this.settings.weightDecay);
      const [params, grads, firsts, seconds] = [p, gradients[i], m, v].map(hostView);
      const next = { p: new Float32Array(p.size), m: new Float32Array(p.size), v: new Float32Array(p.size) };
      for (let j = 0; j < params.length; j++) {
        const g = grads[j];
        const first = (next.m[j] = beta1 * firsts[j] + (1 - beta1) * g);
        const second = (next.v[j] = beta2 * seconds[j] + (1 - beta2) * g * g);
        if (variant === 'adamw_hf') {
          const updated = params[j] - (first / (Math.sqrt(second) + epsilon)) * stepSize;
          next.p[j] = updated - updated * decay;
        } else {
          const update = first / correction1 / (Math.sqrt(second / correction2) + epsilon);
          next.p[j] = params[j] * (1 - decay) - update * lr;
        }
      }
      // New tensors only after the views are done with: allocating may move the wasm heap.
      tf.tidy(() => {
        p.assign(tf.tensor(next.p, p.shape));
        m.assign(tf.tensor(next.m, m.shape));
        v.assign(tf.tensor(next.v, v.shape));
      });
    });
  }

  /** The update from tfjs operations, for tensors outside host memory (a GPU's). */
  private applyWithKernels(gradients: tf.Tensor[], lr: number): void {
    const { beta1, beta2, epsilon } = this.settings;
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

/**
 * The gradients' global L2 norm, as a scalar (read back by the caller: awaited on a GPU). In host
 * memory, one pass summing in double; elsewhere tfjs kernels, two per gradient and a sum.
 */
export function globalNorm(gradients: tf.Tensor[]): tf.Scalar {
  if (hostMemoryBackend()) {
    let total = 0;
    for (const values of gradients.map(hostView))
      for (let i = 0; i < values.length; i++) total += values[i] * values[i];
    return tf.scalar(Math.sqrt(total));
  }
  return tf.tidy(() => tf.sqrt(sumAll(gradients.map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
}

/** Scales gradients of global L2 norm `norm` so that it is at most `maxNorm` (torch's clip_grad_norm_). */
export function clipToNorm(gradients: tf.Tensor[], norm: number, maxNorm: number): tf.Tensor[] {
  // torch: clip_coef = max_norm / (total_norm + 1e-6), applied when below 1.
  const coefficient = maxNorm / (norm + 1e-6);
  if (coefficient >= 1) return gradients.map((g) => g.clone());
  return gradients.map((g) => tf.mul(g, coefficient));
}
