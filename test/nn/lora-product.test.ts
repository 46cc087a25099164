import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend';
import { blasAddon } from '../../src/backend/kernels/blas-addon';
import { loraProduct, type LoraProductParts } from '../../src/nn/lora-product';
import { SeededRandom } from '../../src/util/seeded-random';
import { describeUnless } from '../support/describe-unless';

/** The same layer from tfjs operations, as ElasticLinear composes it. */
function composed(x: tf.Tensor2D, dropped: tf.Tensor2D, parts: LoraProductParts, a: tf.Tensor2D, b: tf.Tensor2D) {
  const { weight, bias, inFeatures, outFeatures, rank, scaling } = parts;
  let y = tf.matMul(x, tf.slice(weight, [0, 0], [inFeatures, outFeatures]));
  if (bias !== undefined) y = tf.add(y, tf.slice(bias, 0, outFeatures));
  const low = tf.matMul(
    tf.matMul(dropped, tf.slice(a, [0, 0], [inFeatures, rank])),
    tf.slice(b, [0, 0], [rank, outFeatures]),
  );
  return tf.add(y, tf.mul(low, scaling));
}

function worst(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let error = 0;
  for (let i = 0; i < a.length; i++) error = Math.max(error, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return error;
}

describeUnless(blasAddon().addon === undefined ? blasAddon().reason : undefined, 'the fused LoRA product', () =>
  describe.each(['wasm', 'cpu'] as const)('on %s', (backend) => {
    beforeAll(() => selectBackend({ requested: backend, log: () => {} }));
    const random = new SeededRandom(8);
    const matrix = (rows: number, columns: number) => tf.tensor2d(random.normals(rows * columns, 1), [rows, columns]);

    it.each([
      ['the full layer with a bias', 9, 11, 4, 9, 11, 4, true, false],
      ['a narrowed layer at a lower rank', 9, 11, 4, 6, 7, 3, true, false],
      ['a layer without bias, with a dropped-out input', 8, 5, 2, 8, 5, 2, false, true],
      ['a narrowed layer with a dropped-out input', 10, 12, 6, 7, 5, 1, true, true],
    ] as const)(
      'equals the composition for %s, gradients included',
      (_, IN, OUT, R, inF, outF, rank, withBias, withDropout) => {
        const parts: LoraProductParts = {
          weight: matrix(IN, OUT),
          bias: withBias ? tf.tensor1d(random.normals(OUT, 1)) : undefined,
          loraA: matrix(IN, R),
          loraB: matrix(R, OUT),
          inFeatures: inF,
          outFeatures: outF,
          rank,
          scaling: 2,
        };
        const x = matrix(5, inF);
        const dropped = withDropout ? (tf.mul(x, tf.tensor2d(random.normals(5 * inF, 1), [5, inF])) as tf.Tensor2D) : x;
        const dy = matrix(5, outF);
        // Gradients with respect to x (and the dropped input when it is its own tensor), A and B.
        const loss = (body: (x: tf.Tensor2D, d: tf.Tensor2D, a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor) =>
          tf.grads((xv: tf.Tensor, dv: tf.Tensor, av: tf.Tensor, bv: tf.Tensor) =>
            tf.sum(
              tf.mul(
                body(xv as tf.Tensor2D, (withDropout ? dv : xv) as tf.Tensor2D, av as tf.Tensor2D, bv as tf.Tensor2D),
                dy,
              ),
            ),
          );
        const inputs = [x, dropped, parts.loraA, parts.loraB];
        const fusedGrads = loss((xv, dv, a, b) => {
          const y = loraProduct(xv, dv, { ...parts, loraA: a, loraB: b });
          if (y === undefined) throw new Error('no fused product');
          return y;
        })(inputs);
        const composedGrads = loss((xv, dv, a, b) => composed(xv, dv, parts, a, b))(inputs);
        const fusedY = loraProduct(x, dropped, parts) as tf.Tensor2D;
        const composedY = composed(x, dropped, parts, parts.loraA, parts.loraB);
        expect(fusedY.shape).toEqual([5, outF]);
        expect(worst(fusedY.dataSync(), composedY.dataSync())).toBeLessThan(1e-5);
        fusedGrads.forEach((g, i) => {
          expect(g.shape).toEqual(composedGrads[i].shape);
          expect(worst(g.dataSync(), composedGrads[i].dataSync())).toBeLessThan(1e-5);
        });
        // Outside the active block A and B get zero gradients.
        expect(tf.sum(tf.abs(fusedGrads[2])).dataSync()[0]).toBeGreaterThan(0);
        tf.dispose([
          ...fusedGrads,
          ...composedGrads,
          fusedY,
          composedY,
          x,
          dropped,
          dy,
          parts.weight,
          parts.loraA,
          parts.loraB,
        ]);
        if (parts.bias !== undefined) parts.bias.dispose();
      },
    );

    it('keeps the tensor count flat over repeated steps', () => {
      const parts: LoraProductParts = {
        weight: matrix(6, 4),
        loraA: matrix(6, 2),
        loraB: matrix(2, 4),
        inFeatures: 6,
        outFeatures: 4,
        rank: 2,
        scaling: 0.5,
      };
      const x = matrix(3, 6);
      const step = () =>
        tf.dispose(
          tf.tidy(() =>
            tf.grads((a: tf.Tensor) => tf.sum(loraProduct(x, x, { ...parts, loraA: a as tf.Tensor2D }) as tf.Tensor))([
              parts.loraA,
            ]),
          ),
        );
      step();
      const before = tf.memory().numTensors;
      for (let i = 0; i < 5; i++) step();
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, parts.weight, parts.loraA, parts.loraB]);
    });
  }),
);
