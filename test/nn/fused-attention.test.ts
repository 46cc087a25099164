import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend';
import { blasAddon } from '../../src/backend/kernels/blas-addon';
import { attentionBias, mergeHeads, scaledDotProductAttention, splitHeads } from '../../src/nn/attention';
import { fusedAttention, fusedAttentionAvailable, type AttentionInputs } from '../../src/nn/fused-attention';
import { multiHeadAttention } from '../../src/nn/multi-head-attention';
import { alibiSlopes } from '../../src/models/bloom';
import { SeededRandom } from '../../src/util/seeded-random';
import { describeUnless } from '../support/describe-unless';

const addon = blasAddon().addon;
const [time, headDim] = [7, 12];
/** Left padding, right padding, a row of padding only. */
const mask = [
  [0, 0, 1, 1, 1, 1, 1],
  [1, 1, 1, 1, 0, 0, 0],
  [0, 0, 0, 0, 0, 0, 0],
];
const batch = mask.length;

/** tfjs's composition, written out independently of the models: split, repeat kv heads, bias, merge. */
function composed(
  [q, k, v]: tf.Tensor3D[],
  causal: boolean,
  attentionMask: tf.Tensor2D | undefined,
  slopes?: number[],
): tf.Tensor3D {
  const [qh, kh, vh] = [q, k, v].map((x) => splitHeads(x, headDim));
  const group = qh.shape[1] / kh.shape[1];
  const repeat = tf.tensor1d(
    Array.from({ length: qh.shape[1] }, (_, h) => Math.floor(h / group)),
    'int32',
  );
  let bias: tf.Tensor = attentionBias(attentionMask, batch, time, time, causal);
  if (slopes !== undefined) {
    const positions = mask.map((row) => {
      let seen = 0;
      return row.map((real) => (real === 1 ? seen++ : 0));
    });
    bias = tf.add(bias, tf.mul(tf.tensor(slopes, [1, slopes.length, 1, 1]), tf.tensor(positions, [batch, 1, 1, time])));
  }
  const out = scaledDotProductAttention(
    qh,
    tf.gather(kh, repeat, 1),
    tf.gather(vh, repeat, 1),
    bias,
    1 / Math.sqrt(headDim),
  );
  return mergeHeads(out);
}

/** BLOOM's fused query_key_value [b, t, heads * 3 * headDim] split into q, k, v [b, t, heads * headDim]. */
function unpack(qkv: tf.Tensor3D): tf.Tensor3D[] {
  const heads = qkv.shape[2] / (3 * headDim);
  return tf
    .split(tf.reshape(qkv, [batch, time, heads, 3, headDim]), 3, 3)
    .map((part) => tf.reshape(part, [batch, time, heads * headDim]) as tf.Tensor3D);
}

function maxDifference(a: tf.Tensor, b: tf.Tensor): number {
  return tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
}

describeUnless(addon === undefined ? blasAddon().reason : undefined, 'fused attention', () => {
  describe.each(['wasm', 'cpu'] as const)('on %s', (backend) => {
    beforeAll(() => selectBackend({ requested: backend, log: () => {} }));
    const random = new SeededRandom(11);
    const tensor = (shape: number[]) => tf.tensor(random.normals(tf.util.sizeFromShape(shape), 1), shape);
    const attentionMask = () => tf.tensor2d(mask, undefined, 'int32');

    /** Output and gradients of both, against the same upstream gradient. */
    function compare(
      fused: (x: tf.Tensor[]) => tf.Tensor,
      reference: (x: tf.Tensor[]) => tf.Tensor,
      inputs: tf.Tensor[],
    ) {
      tf.tidy(() => {
        const dy = tensor(fused(inputs).shape);
        expect(maxDifference(fused(inputs), reference(inputs))).toBeLessThan(1e-5);
        const grads = tf.grads((...x: tf.Tensor[]) => fused(x))(inputs, dy);
        const expected = tf.grads((...x: tf.Tensor[]) => reference(x))(inputs, dy);
        grads.forEach((grad, i) => expect(maxDifference(grad, expected[i])).toBeLessThan(1e-5));
        // Not vacuous: the gradients are not all zero.
        expect(tf.max(tf.abs(grads[0])).dataSync()[0]).toBeGreaterThan(1e-3);
      });
    }

    it('runs here', () => expect(fusedAttentionAvailable()).toBe(true));

    it.each([8, 4, 2])(
      'equals the composition with its gradients: causal, padded, 8 query heads, %i kv heads',
      (kvHeads) => {
        const inputs = [
          tensor([batch, time, 8 * headDim]),
          tensor([batch, time, kvHeads * headDim]),
          tensor([batch, time, kvHeads * headDim]),
        ];
        const attend = multiHeadAttention({
          attentionMask: attentionMask(),
          batch,
          queryLength: time,
          keyLength: time,
          causal: true,
          headDim,
          caching: false,
        });
        compare(
          ([q, k, v]) => attend({ q, k, v } as AttentionInputs).output,
          (x) => composed(x as tf.Tensor3D[], true, attentionMask()),
          inputs,
        );
      },
    );

    it('equals the composition without the causal rule (BERT) and without any mask', () => {
      const inputs = [0, 1, 2].map(() => tensor([batch, time, 4 * headDim]));
      for (const m of [attentionMask(), undefined]) {
        const attend = multiHeadAttention({
          attentionMask: m,
          batch,
          queryLength: time,
          keyLength: time,
          causal: false,
          headDim,
          caching: false,
        });
        compare(
          ([q, k, v]) => attend({ q, k, v } as AttentionInputs).output,
          (x) => composed(x as tf.Tensor3D[], false, m),
          inputs,
        );
      }
    });

    it('reads BLOOM fused query_key_value in place, with ALiBi', () => {
      const heads = 4;
      const slopes = alibiSlopes(heads);
      const attend = multiHeadAttention({
        attentionMask: attentionMask(),
        batch,
        queryLength: time,
        keyLength: time,
        causal: true,
        headDim,
        alibiSlopes: slopes,
        caching: false,
      });
      compare(
        ([qkv]) => attend({ qkv: qkv as tf.Tensor3D }).output,
        ([qkv]) => composed(unpack(qkv as tf.Tensor3D), true, attentionMask(), slopes),
        [tensor([batch, time, heads * 3 * headDim])],
      );
    });

    it('equals the models’ composed path (taken with a cache), ALiBi included', () => {
      const heads = 4;
      const slopes = alibiSlopes(heads);
      const setup = {
        attentionMask: attentionMask(),
        batch,
        queryLength: time,
        keyLength: time,
        causal: true,
        headDim,
        alibiSlopes: slopes,
      };
      tf.tidy(() => {
        const qkv = tensor([batch, time, heads * 3 * headDim]) as tf.Tensor3D;
        const fused = multiHeadAttention({ ...setup, caching: false })({ qkv });
        const cached = multiHeadAttention({ ...setup, caching: true })({ qkv });
        expect(cached.cache?.key.shape).toEqual([batch, heads, time, headDim]);
        expect(fused.cache).toBeUndefined();
        expect(maxDifference(fused.output, cached.output)).toBeLessThan(1e-5);
      });
    });

    it('keeps the tensor count flat over repeated steps', () => {
      const inputs = [
        tensor([batch, time, 8 * headDim]),
        tensor([batch, time, 2 * headDim]),
        tensor([batch, time, 2 * headDim]),
      ];
      const bias = {
        mask: new Float32Array(batch * time * time),
        slopes: new Float32Array(0),
        keyPositions: new Float32Array(0),
      };
      const step = () =>
        tf.dispose(
          tf.grads((...x: tf.Tensor[]) =>
            fusedAttention({ q: x[0], k: x[1], v: x[2] } as AttentionInputs, headDim, bias),
          )(inputs),
        );
      step();
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) step();
      expect(tf.memory().numTensors).toBe(before);
    });

    it('rejects operands smaller than the shape says, naming the function', () => {
      const view = (size: number) => ({
        data: new Float32Array(size),
        offset: 0,
        rowStride: headDim,
        headStride: headDim,
      });
      const none = new Float32Array(0);
      expect(() =>
        addon!.attention(
          [1, 1, 1, time, time, headDim],
          1,
          view(time * headDim - 1),
          view(time * headDim),
          view(time * headDim),
          none,
          none,
          none,
          view(time * headDim),
        ),
      ).toThrow(/^attention: q/);
      expect(() =>
        addon!.attention(
          [1, 1, 1, time, time, headDim],
          1,
          view(time * headDim),
          view(time * headDim),
          view(time * headDim),
          new Float32Array(3),
          none,
          none,
          view(time * headDim),
        ),
      ).toThrow(/^attention: the mask/);
      expect(() =>
        addon!.attentionGrad(
          [1, 1, 1, time, time, headDim],
          1,
          view(time * headDim),
          view(time * headDim),
          view(time * headDim),
          none,
          none,
          none,
          view(time * headDim),
          view(time * headDim),
          view(time * headDim),
          view(1),
        ),
      ).toThrow(/^attentionGrad: dv/);
    });
  });
});
