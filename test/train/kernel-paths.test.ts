import * as tf from '@tensorflow/tfjs-core';
import { BatchMatMul, GatherV2, Identity } from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend';
import { blasAddon } from '../../src/backend/kernels/blas-addon';
import { withKernel, withStockKernelsFor } from '../../src/backend/kernels/register-kernel-patches';
import { wasmBatchMatMulConfig } from '../../src/backend/kernels/wasm-batch-matmul';
import { seededLoraStep } from '../support/seeded-lora-step';
import { makeTinyCheckpoints } from '../support/tiny-checkpoints';

/** The loss and the gradient of every trainable variable, as plain numbers. */
type LossAndGradients = { loss: number; gradients: Float32Array[] };

describe('training numbers do not depend on the kernel path', () => {
  const tiny = makeTinyCheckpoints();
  afterAll(() => tiny.remove());
  beforeAll(async () => {
    await selectBackend({ requested: 'wasm', log: () => {} });
  });

  for (const family of ['llama', 'bert'] as const) {
    it(`${family}: losses and gradients on OpenBLAS and lonas's GEMM equal tfjs's stock kernels to 1e-5`, () => {
      const { loaded, variables, batch, loss } = seededLoraStep(family, tiny.path(family));
      const measure = (): LossAndGradients => {
        const { value, grads } = tf.variableGrads(() => loss(batch), variables);
        const result = {
          loss: value.dataSync()[0],
          gradients: variables.map((v) => grads[v.name].dataSync() as Float32Array),
        };
        tf.dispose([value, ...Object.values(grads)]);
        return result;
      };
      const stock = withStockKernelsFor('wasm', [BatchMatMul, GatherV2, Identity], measure);
      const paths: Array<[string, LossAndGradients]> = [["lonas's GEMM", withKernel(wasmBatchMatMulConfig, measure)]];
      if (blasAddon().addon !== undefined) paths.push(['OpenBLAS', measure()]);
      else process.stderr.write(`OpenBLAS path not compared: ${blasAddon().reason}\n`);
      for (const [, got] of paths) {
        expect(Math.abs(got.loss - stock.loss)).toBeLessThan(1e-5);
        got.gradients.forEach((gradient, i) => {
          const scale = Math.max(1, ...Array.from(stock.gradients[i], Math.abs));
          const worst = Math.max(...Array.from(gradient, (g, j) => Math.abs(g - stock.gradients[i][j])));
          expect(worst / scale).toBeLessThan(1e-5);
        });
      }
      expect(stock.gradients.some((g) => g.some((x) => x !== 0))).toBe(true);
      loaded.model.dispose();
    });
  }
});
