import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend';
import { AdamW, clipToNorm, globalNorm, torchAdamW } from '../../src/train/adamw';
import { causalLmLoss, IGNORE_INDEX } from '../../src/train/losses';
import { collate, epochOrder } from '../../src/train/batches';

describe('training pieces', () => {
  beforeAll(() => selectBackend({ requested: 'wasm', log: () => {} }));

  it.each(['host', 'kernels'] as const)(
    'AdamW on %s matches torch.optim.AdamW step by step, decoupled weight decay included',
    (updateOn) => {
      const p = tf.variable(tf.tensor1d([1, -2]));
      const adam = new AdamW([p], { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.1, updateOn });
      const grads = [
        [0.5, -1],
        [0.25, 2],
      ];
      let [m, v, value] = [
        [0, 0],
        [0, 0],
        [1, -2],
      ];
      grads.forEach((g, step) => {
        adam.apply([tf.tensor1d(g)], 0.01);
        value = value.map((x) => x * (1 - 0.01 * 0.1));
        m = m.map((mi, i) => 0.9 * mi + 0.1 * g[i]);
        v = v.map((vi, i) => 0.999 * vi + 0.001 * g[i] ** 2);
        const t = step + 1;
        value = value.map((x, i) => x - (0.01 * (m[i] / (1 - 0.9 ** t))) / (Math.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8));
      });
      const got = p.dataSync();
      value.forEach((x, i) => expect(got[i]).toBeCloseTo(x, 6));
    },
  );

  it.each(['host', 'kernels'] as const)(
    "AdamW on %s matches transformers' AdamW (adamw_hf) step by step, and skips decay on biases",
    (updateOn) => {
      const weight = tf.variable(tf.tensor1d([1, -2]));
      const bias = tf.variable(tf.tensor1d([0.5]));
      const settings = {
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-8,
        weightDecay: 0.1,
        variant: 'adamw_hf' as const,
        updateOn,
      };
      const adam = new AdamW([weight, bias], settings, new Set([bias]));
      const grads = [
        [0.5, -1, 0.2],
        [0.25, 2, -0.4],
      ];
      let [m, v, value] = [
        [0, 0, 0],
        [0, 0, 0],
        [1, -2, 0.5],
      ];
      grads.forEach((g, step) => {
        adam.apply([tf.tensor1d(g.slice(0, 2)), tf.tensor1d(g.slice(2))], 0.01);
        const t = step + 1;
        m = m.map((mi, i) => 0.9 * mi + 0.1 * g[i]);
        v = v.map((vi, i) => 0.999 * vi + 0.001 * g[i] ** 2);
        const stepSize = (0.01 * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
        value = value.map((x, i) => x - (stepSize * m[i]) / (Math.sqrt(v[i]) + 1e-8));
        // Decay after the update, on the weight only.
        value = value.map((x, i) => (i < 2 ? x - 0.01 * 0.1 * x : x));
      });
      const got = [...weight.dataSync(), ...bias.dataSync()];
      value.forEach((x, i) => expect(got[i]).toBeCloseTo(x, 6));
      adam.dispose();
    },
  );

  it.each(['wasm', 'cpu'] as const)(
    'AdamW on host arrays equals its tfjs kernels on %s over several steps, in both variants, tensors flat',
    async (backend) => {
      await selectBackend({ requested: backend, log: () => {} });
      for (const variant of ['adamw_torch', 'adamw_hf'] as const) {
        const run = (updateOn: 'host' | 'kernels') => {
          const variables = [
            tf.variable(tf.randomNormal([7, 5], 0, 1, 'float32', 1)),
            tf.variable(tf.randomNormal([3], 0, 1, 'float32', 2)),
          ];
          const adam = new AdamW(
            variables,
            { ...torchAdamW, weightDecay: 0.05, variant, updateOn },
            new Set([variables[1]]),
          );
          const counts: number[] = [];
          for (let step = 0; step < 4; step++) {
            const gradients = variables.map((v, i) => tf.randomNormal(v.shape, 0, 1, 'float32', 10 * step + i + 1));
            adam.apply(gradients, 1e-2);
            tf.dispose(gradients);
            counts.push(tf.memory().numTensors);
          }
          const values = variables.map((v) => Array.from(v.dataSync()));
          adam.dispose();
          tf.dispose(variables);
          return { values, counts };
        };
        const [host, kernels] = [run('host'), run('kernels')];
        expect(new Set(host.counts).size).toBe(1);
        host.values.flat().forEach((x, i) => expect(x).toBeCloseTo(kernels.values.flat()[i], 5));
      }
      await selectBackend({ requested: 'wasm', log: () => {} });
    },
  );

  it('clips the global gradient norm as torch.nn.utils.clip_grad_norm_ does', () => {
    const gradients = [tf.tensor1d([3, 0]), tf.tensor1d([0, 4])];
    const norm = globalNorm(gradients).dataSync()[0];
    expect(norm).toBeCloseTo(5, 6);
    expect(Array.from(clipToNorm(gradients, norm, 1)[0].dataSync())[0]).toBeCloseTo(3 / (5 + 1e-6), 6);
    expect(clipToNorm([tf.tensor1d([0.3])], 0.3, 1)[0].dataSync()[0]).toBeCloseTo(0.3, 7);
  });

  it('takes the causal LM loss over shifted labels, skipping ignored ones', () => {
    // Vocabulary 2; logits favour token 1 everywhere.
    const logits = tf.tensor3d([
      [
        [0, 1],
        [0, 1],
        [0, 1],
      ],
    ]);
    const p1 = Math.exp(1) / (1 + Math.exp(1));
    const loss = causalLmLoss(logits, [[5, 1, 0]]).dataSync()[0];
    expect(loss).toBeCloseTo(-(Math.log(p1) + Math.log(1 - p1)) / 2, 6);
    expect(causalLmLoss(logits, [[5, IGNORE_INDEX, 0]]).dataSync()[0]).toBeCloseTo(-Math.log(1 - p1), 6);
  });

  it('collates as DataCollatorForSeq2Seq: pad ids, -100 labels, multiples of 8, left padding', () => {
    const batch = collate([{ inputIds: [1, 5, 6] }, { inputIds: [1, 7] }], {
      padTokenId: 0,
      paddingSide: 'left',
      padToMultipleOf: 8,
    });
    expect(batch.inputIds[1]).toEqual([0, 0, 0, 0, 0, 0, 1, 7]);
    expect(batch.attentionMask[1]).toEqual([0, 0, 0, 0, 0, 0, 1, 1]);
    expect(batch.labels[1]).toEqual([...new Array(6).fill(IGNORE_INDEX), 1, 7]);
  });

  it('orders each epoch by a seeded permutation', () => {
    expect(epochOrder(10, 1, 0)).toEqual(epochOrder(10, 1, 0));
    expect(epochOrder(10, 1, 0)).not.toEqual(epochOrder(10, 1, 1));
    expect([...epochOrder(10, 1, 3)].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
  });
});
