import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as path from 'path';
import { selectBackend } from '../../src/backend';
import { SafetensorsFile, writeSafetensors } from '../../src/io/safetensors';
import { loadModel } from '../../src/models/registry';
import type { BertForSequenceClassification } from '../../src/models/bert';
import { makeTinyCheckpoints } from '../support/tiny-checkpoints';

describe('BERT heads', () => {
  const tiny = makeTinyCheckpoints();
  beforeAll(() => selectBackend({ requested: 'wasm', log: () => {} }));
  afterAll(() => tiny.remove());

  function bert(numLabels?: number): BertForSequenceClassification {
    let folder = tiny.path('bert');
    if (numLabels !== undefined) {
      folder = path.join(tiny.folder, `bert-${numLabels}`);
      fs.mkdirSync(folder, { recursive: true });
      const config = JSON.parse(fs.readFileSync(path.join(tiny.path('bert'), 'config.json'), 'utf8'));
      delete config.id2label;
      delete config.label2id;
      fs.writeFileSync(path.join(folder, 'config.json'), JSON.stringify({ ...config, num_labels: numLabels }));
      // The checkpoint's 3-way classifier is left out, so the head is initialised for the new size.
      const source = SafetensorsFile.open(path.join(tiny.path('bert'), 'model.safetensors'));
      const tensors = Object.fromEntries(
        [...source.entries.keys()]
          .filter((n) => !n.startsWith('classifier'))
          .map((n) => {
            const { shape, data } = source.read(n);
            return [n, { shape, data }];
          }),
      );
      writeSafetensors(path.join(folder, 'model.safetensors'), tensors);
    }
    const loaded = loadModel(folder);
    if (loaded.kind !== 'sequence-classification') throw new Error('expected BERT');
    return loaded.model;
  }

  it('takes cross-entropy over the labels', () => {
    const model = bert();
    const logits = tf.tensor2d([
      [2, 0, 0],
      [0, 0, 1],
    ]);
    const expected = -(Math.log(Math.exp(2) / (Math.exp(2) + 2)) + Math.log(Math.E / (Math.E + 2))) / 2;
    expect(model.loss(logits, tf.tensor1d([0, 2], 'int32')).dataSync()[0]).toBeCloseTo(expected, 5);
  });

  it('takes the mean squared error for one regression output (STS-B)', () => {
    const model = bert(1);
    expect(model.config.numLabels).toBe(1);
    const logits = model.forward({ inputIds: tf.tensor2d([[2, 40, 3]], undefined, 'int32') });
    expect(logits.shape).toEqual([1, 1]);
    const loss = model.loss(tf.tensor2d([[1.5], [3]]), tf.tensor1d([1, 5]));
    expect(loss.dataSync()[0]).toBeCloseTo((0.25 + 4) / 2, 6);
  });
});
