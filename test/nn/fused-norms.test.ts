import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend';
import { blasAddon } from '../../src/backend/kernels/blas-addon';
import { gelu, geluTanh, swiglu } from '../../src/nn/activations';
import { LayerNorm, RMSNorm } from '../../src/nn/norms';
import { SeededRandom } from '../../src/util/seeded-random';
import { describeUnless } from '../support/describe-unless';

const addon = blasAddon().addon;

/** `body` on the tfjs compositions: the fallback that runs where the addon is off. */
function composed<T>(body: () => T): T {
  const before = process.env.LONAS_BLAS;
  process.env.LONAS_BLAS = 'off';
  try {
    return body();
  } finally {
    if (before === undefined) delete process.env.LONAS_BLAS;
    else process.env.LONAS_BLAS = before;
  }
}

/** Largest difference relative to the larger of 1 and the reference's largest magnitude. */
function relativeError(actual: tf.Tensor, expected: tf.Tensor): number {
  const [a, b] = [actual.dataSync(), expected.dataSync()];
  expect(actual.shape).toEqual(expected.shape);
  let [worst, scale] = [0, 1];
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return worst / scale;
}

/** An operation of same-shaped inputs, its values and its gradients for a weighted sum of its output. */
function valueAndGrads(op: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], weights: tf.Tensor) {
  return tf.tidy(() => {
    const value = op(...inputs);
    const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(op(...xs), weights)))(inputs);
    return [value, ...grads];
  });
}

for (const backend of ['wasm', 'cpu'] as const) {
  describeUnless(
    addon === undefined ? blasAddon().reason : undefined,
    `fused norms and activations on ${backend}`,
    () => {
      beforeAll(() => selectBackend({ requested: backend, log: () => {} }));
      const random = new SeededRandom(11);
      const tensor = (shape: number[], std = 1, mean = 0) =>
        tf.tensor(random.normals(tf.util.sizeFromShape(shape), std, mean), shape);
      // 15 rows of 37 (neither a multiple of 4), the second row of the first batch all zeros: the
      // norms then divide by sqrt(eps) alone.
      const input = () => {
        const values = random.normals(3 * 5 * 37, 1.5, 0.3);
        values.fill(0, 37, 2 * 37);
        return tf.tensor(values, [3, 5, 37]);
      };
      const width = 37;

      const cases: Array<[string, () => { op: (...xs: tf.Tensor[]) => tf.Tensor; inputs: tf.Tensor[] }]> = [
        [
          'RMSNorm',
          () => {
            const norm = new RMSNorm(tensor([width], 0.2, 1) as tf.Tensor1D, 1e-6);
            return { op: (x) => norm.forward(x), inputs: [input()] };
          },
        ],
        [
          'LayerNorm',
          () => {
            const norm = new LayerNorm(
              tensor([width], 0.2, 1) as tf.Tensor1D,
              tensor([width], 0.1) as tf.Tensor1D,
              1e-5,
            );
            return { op: (x) => norm.forward(x), inputs: [input()] };
          },
        ],
        [
          // Its weight and bias are made, and disposed, within the differentiated function.
          'LayerNorm made within the step',
          () => {
            const [weight, bias] = [tensor([width], 0.2, 1) as tf.Tensor1D, tensor([width], 0.1) as tf.Tensor1D];
            const norm = (x: tf.Tensor) => new LayerNorm(tf.clone(weight), tf.clone(bias), 1e-12).forward(x);
            return { op: norm, inputs: [input()] };
          },
        ],
        ['GELU (erf)', () => ({ op: gelu, inputs: [input()] })],
        ['GELU (tanh)', () => ({ op: geluTanh, inputs: [input()] })],
        ['SwiGLU', () => ({ op: swiglu, inputs: [input(), tensor([3, 5, 37], 2)] })],
      ];

      it.each(cases)('%s equals the tfjs composition, values and gradients', (_, make) => {
        const { op, inputs } = make();
        const weights = tensor(inputs[0].shape);
        const fused = valueAndGrads(op, inputs, weights);
        const reference = composed(() => valueAndGrads(op, inputs, weights));
        fused.forEach((value, i) => expect(relativeError(value, reference[i])).toBeLessThan(1e-5));
        tf.dispose([...fused, ...reference, ...inputs, weights]);
      });

      it('gives a trainable norm weight its gradient, composing the norm from tfjs kernels', () => {
        const weight = tf.variable(tensor([width], 0.2, 1), true) as tf.Variable<tf.Rank.R1>;
        const norm = new RMSNorm(weight, 1e-6);
        const x = input();
        const { grads } = tf.variableGrads(() => tf.sum(tf.square(norm.forward(x))), [weight]);
        expect(tf.sum(tf.abs(grads[weight.name])).dataSync()[0]).toBeGreaterThan(0);
        tf.dispose([weight, x, grads[weight.name]]);
      });

      it.each(cases)('%s runs no tfjs kernels and leaves no tensors behind', async (_, make) => {
        const { op, inputs } = make();
        const weights = tensor(inputs[0].shape);
        // The kernels the compositions are made of, and their gradients of; the weighted sum has none.
        const composition = ['Erf', 'Tanh', 'Sigmoid', 'Rsqrt', 'Mean', 'Square', 'Sub', 'Add', 'Exp', 'Neg'];
        // tf.profile runs the operation before its first await, so within composed's switch.
        const compositionKernels = async () => {
          const { kernelNames, result } = await tf.profile(() => valueAndGrads(op, inputs, weights));
          tf.dispose(result);
          return kernelNames.filter((name) => composition.includes(name));
        };
        expect(await compositionKernels()).toEqual([]);
        expect(await composed(compositionKernels)).not.toEqual([]);
        const counts = Array.from({ length: 3 }, () => {
          tf.dispose(valueAndGrads(op, inputs, weights));
          return tf.memory().numTensors;
        });
        expect(new Set(counts).size).toBe(1);
        tf.dispose([...inputs, weights]);
      });
    },
  );
}

describeUnless(addon === undefined ? blasAddon().reason : undefined, 'fused kernels in the native addon', () => {
  it('throw naming the function when a length does not match', () => {
    const [x, out] = [new Float32Array(12), new Float32Array(12)];
    expect(() => addon!.rmsNorm(x, 4, new Float32Array(3), 1e-6, out)).toThrow(/^rmsNorm: /);
    expect(() => addon!.layerNorm(x, 5, new Float32Array(5), new Float32Array(5), 1e-6, out)).toThrow(/^layerNorm: /);
    expect(() => addon!.layerNormGrad(x, new Float32Array(8), 4, new Float32Array(4), 1e-6, out)).toThrow(
      /^layerNormGrad: /,
    );
    expect(() => addon!.swiglu(x, new Float32Array(11), out)).toThrow(/^swiglu: /);
    expect(() => addon!.geluGrad(x, true, x, new Float32Array(2))).toThrow(/^geluGrad: /);
  });
});
