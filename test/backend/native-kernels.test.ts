import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend';
import { blasAddon } from '../../src/backend/kernels/blas-addon';
import { nativeCpuKernelNames, nativeWasmKernelNames } from '../../src/backend/kernels/native-kernels';
import { withStockKernelsFor } from '../../src/backend/kernels/register-kernel-patches';
import { SeededRandom } from '../../src/util/seeded-random';
import { describeUnless } from '../support/describe-unless';

const addon = blasAddon().addon;

/** Runs `body` on the native kernels and on tfjs's own; both results' values. */
function both(
  body: () => tf.Tensor | tf.Tensor[],
  backend: 'cpu' | 'wasm' = 'cpu',
): Array<[Float32Array | Int32Array, Float32Array | Int32Array]> {
  const values = (out: tf.Tensor | tf.Tensor[]) => {
    const list = Array.isArray(out) ? out : [out];
    const data = list.map((t) => t.dataSync() as Float32Array | Int32Array);
    tf.dispose(list);
    return data;
  };
  const native = values(tf.tidy(body));
  // Only the native kernels swapped back: both runs multiply on the same BatchMatMul.
  const names = backend === 'cpu' ? nativeCpuKernelNames : nativeWasmKernelNames;
  const stock = withStockKernelsFor(backend, names, () => values(tf.tidy(body)));
  return native.map((n, i) => [n, stock[i]]);
}

/** Largest difference in units of the float32 spacing at the stock value. */
function ulps(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    if (Object.is(a[i], b[i]) || (Number.isNaN(a[i]) && Number.isNaN(b[i]))) continue;
    const spacing = Math.max(Math.abs(b[i]) * 2 ** -23, 2 ** -149);
    worst = Math.max(worst, Math.abs(a[i] - b[i]) / spacing);
  }
  return worst;
}

describeUnless(addon === undefined ? blasAddon().reason : undefined, 'native cpu kernels', () => {
  beforeAll(() => selectBackend({ requested: 'cpu', log: () => {} }));
  const random = new SeededRandom(7);
  const tensor = (shape: number[], scale = 1) => tf.tensor(random.normals(tf.util.sizeFromShape(shape), scale), shape);

  it.each([
    ['add', tf.add],
    ['sub', tf.sub],
    ['mul', tf.mul],
    ['div', tf.div],
    ['squaredDifference', tf.squaredDifference],
    ['maximum', tf.maximum],
    ['minimum', tf.minimum],
  ] as const)('%s equals the stock kernel, broadcasting included', (_, op) => {
    const shapes: Array<[number[], number[]]> = [
      [
        [3, 4, 5],
        [3, 4, 5],
      ],
      [[3, 4, 5], [5]],
      [
        [3, 1, 5],
        [1, 4, 1],
      ],
      [[2, 3], []],
      [[], [4]],
      [[0, 3], [3]],
    ];
    for (const [aShape, bShape] of shapes) {
      const [a, b] = [tensor(aShape), tensor(bShape)];
      for (const [native, stock] of both(() => op(a, b))) expect(Array.from(native)).toEqual(Array.from(stock));
      tf.dispose([a, b]);
    }
  });

  const unaryCases: Array<[string, (x: tf.Tensor) => tf.Tensor, number]> = [
    ['exp', tf.exp, 1],
    ['log', (x: tf.Tensor) => tf.log(tf.abs(x)), 1],
    ['neg', tf.neg, 0],
    ['sqrt', (x: tf.Tensor) => tf.sqrt(tf.abs(x)), 0],
    ['rsqrt', (x: tf.Tensor) => tf.rsqrt(tf.abs(x)), 1],
    ['square', tf.square, 0],
    ['sigmoid', tf.sigmoid, 1],
    ['tanh', tf.tanh, 1],
    ['reciprocal', tf.reciprocal, 0],
  ];
  it.each(unaryCases.map(([name, op, ulp]) => ({ name, op, ulp })))(
    '$name equals the stock kernel within $ulp ulp',
    ({ op, ulp: tolerance }) => {
      const x = tensor([4, 33], 3);
      for (const [native, stock] of both(() => op(x))) expect(ulps(native, stock)).toBeLessThanOrEqual(tolerance);
      x.dispose();
    },
  );

  it('reduces over adjacent axes as the stock kernels do, and leaves other axes to them', () => {
    const x = tensor([3, 4, 5, 6]);
    const cases: Array<() => tf.Tensor> = [
      () => tf.sum(x, -1),
      () => tf.sum(x, [1, 2], true),
      () => tf.sum(x, 0),
      () => tf.sum(x),
      () => tf.sum(x, [0, 2]),
      () => tf.max(x, -1),
      () => tf.max(x, [0, 1], true),
      () => tf.min(x, 2),
      () => tf.mean(x, -1),
      () => tf.mean(x, [1, 2], true),
    ];
    for (const body of cases) {
      for (const [native, stock] of both(body)) expect(ulps(native, stock)).toBeLessThanOrEqual(1);
    }
    expect(tf.sum(x, [1, 2], true).shape).toEqual([3, 1, 1, 6]);
    x.dispose();
  });

  it('softmax, slice, transpose and pad equal the stock kernels', () => {
    const x = tensor([2, 3, 4, 5], 4);
    const cases: Array<() => tf.Tensor> = [
      () => tf.softmax(x),
      () => tf.logSoftmax(x),
      () => tf.slice(x, [0, 1, 1, 2], [2, 2, -1, 3]),
      () => tf.slice(x, [1, 0, 0, 0], [1, 3, 4, 5]),
      () => tf.transpose(x, [0, 2, 1, 3]),
      () => tf.transpose(x, [3, 1, 0, 2]),
      () =>
        tf.pad(
          x,
          [
            [0, 1],
            [2, 0],
            [0, 0],
            [1, 1],
          ],
          0.5,
        ),
    ];
    for (const body of cases) {
      for (const [native, stock] of both(body)) expect(ulps(native, stock)).toBeLessThanOrEqual(1);
    }
    x.dispose();
  });

  it('gives the stock gradients of a softmax attention with slices', () => {
    const [q, k, w] = [tensor([2, 3, 8]), tensor([2, 5, 8]), tensor([2, 3, 4])];
    const loss = (qv: tf.Tensor, kv: tf.Tensor) => {
      const scores = tf.mul(tf.matMul(qv, kv, false, true), 0.3);
      const attention = tf.softmax(tf.slice(scores, [0, 0, 1], [-1, -1, 4]));
      return tf.sum(tf.mul(tf.transpose(tf.sigmoid(attention), [0, 1, 2]), w));
    };
    for (const [native, stock] of both(() => tf.grads(loss)([q, k])))
      expect(ulps(native, stock)).toBeLessThanOrEqual(1);
    tf.dispose([q, k, w]);
  });

  it('reads an int32 tensor cast to float32 (whose array stays int32) by value', () => {
    const ints = tf.tensor2d(
      [
        [1, 0],
        [2, 3],
      ],
      undefined,
      'int32',
    );
    const x = tf.tensor2d([
      [0.5, 2],
      [4, -1],
    ]);
    const cast = tf.cast(ints, 'float32');
    for (const [native, stock] of both(() => [tf.mul(x, cast), tf.sub(cast, x), tf.matMul(cast, x), tf.exp(cast)])) {
      expect(Array.from(native)).toEqual(Array.from(stock));
    }
    expect(Array.from(tf.mul(x, cast).dataSync())).toEqual([0.5, 0, 8, -3]);
    tf.dispose([ints, x, cast]);
  });

  it('refuses a transpose that names an axis twice', () => {
    const x = tensor([2, 3]);
    expect(() => tf.transpose(x, [1, 1])).toThrow('transpose: bad permutation or operand size');
    x.dispose();
  });

  it('leaves int32 tensors to the stock kernels', () => {
    const a = tf.tensor1d([1, 2, 3], 'int32');
    const b = tf.tensor1d([10, 20, 30], 'int32');
    const sum = tf.add(a, b);
    expect(sum.dtype).toBe('int32');
    expect(Array.from(sum.dataSync())).toEqual([11, 22, 33]);
    expect(Array.from(tf.slice(b, [1], [2]).dataSync())).toEqual([20, 30]);
    tf.dispose([a, b, sum]);
  });
});

describeUnless(addon === undefined ? blasAddon().reason : undefined, 'native data movement on wasm', () => {
  beforeAll(() => selectBackend({ requested: 'wasm', log: () => {} }));
  const random = new SeededRandom(11);
  const tensor = (shape: number[]) => tf.tensor(random.normals(tf.util.sizeFromShape(shape), 1), shape);

  it('serves slice, transpose and pad, and leaves arithmetic to wasm', () => {
    expect(nativeWasmKernelNames.sort()).toEqual(['PadV2', 'Slice', 'Transpose']);
  });

  it('equals the stock kernels, a rank-5 transpose and gradients included', () => {
    const x = tensor([2, 3, 4, 3, 5]);
    const cases: Array<() => tf.Tensor | tf.Tensor[]> = [
      () => tf.transpose(x, [3, 0, 2, 1, 4]),
      () => tf.slice(x, [0, 1, 1, 0, 2], [2, 2, -1, 3, 3]),
      () =>
        tf.pad(
          tf.reshape(x, [6, 60]),
          [
            [1, 0],
            [0, 2],
          ],
          -1,
        ),
      () =>
        tf.grad((v: tf.Tensor) =>
          tf.sum(tf.mul(tf.slice(tf.transpose(v, [4, 2, 0, 1, 3]), [1, 0, 0, 0, 0], [3, 4, 2, 3, 3]), 2)),
        )(x),
    ];
    for (const body of cases) {
      for (const [native, stock] of both(body, 'wasm')) expect(Array.from(native)).toEqual(Array.from(stock));
    }
    x.dispose();
  });

  it('reads its input after allocating its output, which may grow the heap', () => {
    // 96 MiB in and out: the output's allocation grows the wasm heap and detaches older views.
    const x = tf.randomUniform([3, 1024, 8192], -1, 1, 'float32', 5);
    const [[native, stock]] = both(() => tf.transpose(x, [1, 0, 2]), 'wasm');
    expect(native.length).toBe(3 * 1024 * 8192);
    expect(native.every((v, i) => v === stock[i])).toBe(true);
    x.dispose();
  });

  it('leaves int32 tensors to the stock kernels', () => {
    const ids = tf.tensor2d(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      undefined,
      'int32',
    );
    const moved = tf.transpose(ids);
    expect(moved.dtype).toBe('int32');
    expect(Array.from(moved.dataSync())).toEqual([1, 4, 2, 5, 3, 6]);
    tf.dispose([ids, moved]);
  });
});
