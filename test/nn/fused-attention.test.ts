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
const headDim = 12;
/** Left padding, right padding, a row of padding only: [batch, time] with 1 for real tokens. */
const paddedRows = (time: number, left: number, right: number) => [
  Array.from({ length: time }, (_, t) => (t < left ? 0 : 1)),
  Array.from({ length: time }, (_, t) => (t < time - right ? 1 : 0)),
  Array.from({ length: time }, () => 0),
];
/** Odd sizes; and past the kernel's 32-query blocks, where blocks skip keys hidden from all their rows. */
const SHORT = paddedRows(7, 2, 3);
const LONG = paddedRows(70, 5, 30);

/** tfjs's composition, written out independently of the models: split, repeat kv heads, bias, merge. */
function composed(
  [q, k, v]: tf.Tensor3D[],
  causal: boolean,
  mask: number[][] | undefined,
  slopes?: number[],
): tf.Tensor3D {
  const [batch, time] = q.shape;
  const [qh, kh, vh] = [q, k, v].map((x) => splitHeads(x, headDim));
  const group = qh.shape[1] / kh.shape[1];
  const repeat = tf.tensor1d(
    Array.from({ length: qh.shape[1] }, (_, h) => Math.floor(h / group)),
    'int32',
  );
  const attentionMask = mask === undefined ? undefined : tf.tensor2d(mask, undefined, 'int32');
  let bias: tf.Tensor = attentionBias(attentionMask, batch, time, time, causal);
  if (slopes !== undefined) {
    const positions = (mask ?? []).map((row) => {
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
  const [batch, time, width] = qkv.shape;
  const heads = width / (3 * headDim);
  return tf
    .split(tf.reshape(qkv, [batch, time, heads, 3, headDim]), 3, 3)
    .map((part) => tf.reshape(part, [batch, time, heads * headDim]) as tf.Tensor3D);
}

/** The models' attention for these masks (fused here), without a cache. */
function attendFor(mask: number[][] | undefined, batch: number, time: number, causal: boolean, alibiSlopes?: number[]) {
  return multiHeadAttention({
    attentionMask: mask === undefined ? undefined : tf.tensor2d(mask, undefined, 'int32'),
    batch,
    queryLength: time,
    keyLength: time,
    causal,
    headDim,
    alibiSlopes,
    caching: false,
  });
}

function maxDifference(a: tf.Tensor, b: tf.Tensor): number {
  return tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
}

describeUnless(addon === undefined ? blasAddon().reason : undefined, 'fused attention', () => {
  describe.each(['wasm', 'cpu'] as const)('on %s', (backend) => {
    beforeAll(() => selectBackend({ requested: backend, log: () => {} }));
    const random = new SeededRandom(11);
    const tensor = (shape: number[]) => tf.tensor(random.normals(tf.util.sizeFromShape(shape), 1), shape);

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

    it.each([
      [8, 'short', SHORT],
      [4, 'short', SHORT],
      [2, 'short', SHORT],
      [4, 'long', LONG],
    ])(
      'equals the composition with its gradients: causal, padded, 8 query heads, %i kv heads, %s rows',
      (kvHeads, _, mask) => {
        const [batch, time] = [mask.length, mask[0].length];
        const inputs = [
          tensor([batch, time, 8 * headDim]),
          tensor([batch, time, kvHeads * headDim]),
          tensor([batch, time, kvHeads * headDim]),
        ];
        const attend = attendFor(mask, batch, time, true);
        compare(
          ([q, k, v]) => attend({ q, k, v } as AttentionInputs).output,
          (x) => composed(x as tf.Tensor3D[], true, mask),
          inputs,
        );
      },
    );

    it.each([
      ['short', SHORT],
      ['long', LONG],
    ])('equals the composition without the causal rule (BERT), with and without a mask: %s rows', (_, rows) => {
      const [batch, time] = [rows.length, rows[0].length];
      const inputs = [0, 1, 2].map(() => tensor([batch, time, 4 * headDim]));
      for (const mask of [rows, undefined]) {
        const attend = attendFor(mask, batch, time, false);
        compare(
          ([q, k, v]) => attend({ q, k, v } as AttentionInputs).output,
          (x) => composed(x as tf.Tensor3D[], false, mask),
          inputs,
        );
      }
    });

    it.each([
      ['short', SHORT],
      ['long', LONG],
    ])('reads BLOOM fused query_key_value in place, with ALiBi: %s rows', (_, mask) => {
      const [batch, time, heads] = [mask.length, mask[0].length, 4];
      const slopes = alibiSlopes(heads);
      const attend = attendFor(mask, batch, time, true, slopes);
      compare(
        ([qkv]) => attend({ qkv: qkv as tf.Tensor3D }).output,
        ([qkv]) => composed(unpack(qkv as tf.Tensor3D), true, mask, slopes),
        [tensor([batch, time, heads * 3 * headDim])],
      );
    });

    it('equals the models’ composed path (taken with a cache), ALiBi included', () => {
      const [batch, time, heads] = [SHORT.length, SHORT[0].length, 4];
      const slopes = alibiSlopes(heads);
      const setup = {
        attentionMask: tf.tensor2d(SHORT, undefined, 'int32'),
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
      const [batch, time] = [3, 7];
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
      const time = 7;
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
