import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend';
import {
  composedCrossEntropy,
  crossEntropyGradient,
  crossEntropyRows,
  fusedCrossEntropy,
  jsCrossEntropyGradient,
  jsCrossEntropyRows,
} from '../../src/train/cross-entropy';
import { SeededRandom } from '../../src/util/seeded-random';

describe.each(['wasm', 'cpu'] as const)('fused cross-entropy on %s', (backend) => {
  beforeAll(() => selectBackend({ requested: backend, log: () => {} }));
  const random = new SeededRandom(3);
  const [rows, vocab] = [7, 300];
  const targets = Int32Array.from({ length: rows }, (_, r) => (r % 3 === 2 ? -1 : random.below(vocab)));
  const counted = targets.filter((t) => t >= 0).length;

  it('gives the composed loss and gradient, ignored rows without gradient', () => {
    const logits = tf.tensor2d(random.normals(rows * vocab, 4), [rows, vocab]);
    const fused = tf.valueAndGrad((x: tf.Tensor) => {
      const loss = fusedCrossEntropy(x as tf.Tensor2D, targets, counted);
      if (loss === undefined) throw new Error('no fused loss on this backend');
      return loss;
    });
    const composed = tf.valueAndGrad((x: tf.Tensor) => composedCrossEntropy(x as tf.Tensor2D, targets, counted));
    const [a, b] = [fused(logits), composed(logits)];
    expect(a.value.dataSync()[0]).toBeCloseTo(b.value.dataSync()[0], 5);
    const [ga, gb] = [a.grad.dataSync(), b.grad.dataSync()];
    let worst = 0;
    for (let i = 0; i < ga.length; i++) worst = Math.max(worst, Math.abs(ga[i] - gb[i]));
    expect(worst).toBeLessThan(1e-6);
    expect(Array.from(ga.slice(2 * vocab, 3 * vocab)).every((g) => g === 0)).toBe(true);
    tf.dispose([logits, a.value, a.grad, b.value, b.grad]);
  });

  it('computes the same natively (exp in float) and in JavaScript (in double)', () => {
    const x = new Float32Array(random.normals(rows * vocab, 4));
    const [nativeSums, jsSums] = [new Float64Array(rows), new Float64Array(rows)];
    expect(crossEntropyRows(x, vocab, targets, nativeSums)).toBeCloseTo(
      jsCrossEntropyRows(x, vocab, targets, jsSums),
      5,
    );
    const [native, js] = [new Float32Array(rows * vocab), new Float32Array(rows * vocab)];
    crossEntropyGradient(x, vocab, targets, nativeSums, 0.5, native);
    jsCrossEntropyGradient(x, vocab, targets, jsSums, 0.5, js);
    native.forEach((g, i) => expect(Math.abs(g - js[i])).toBeLessThan(1e-6));
    expect(Array.from(native.slice(2 * vocab, 3 * vocab)).every((g) => g === 0)).toBe(true);
  });
});
