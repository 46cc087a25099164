import * as tf from '@tensorflow/tfjs-core';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { selectBackend } from '../../src/backend';
import { loadModel } from '../../src/models/registry';
import { makeTinyCheckpoints } from '../support/tiny-checkpoints';

/**
 * lonas's forward passes against an independent PyTorch implementation
 * (tools/reference/forward.py), whose outputs on the tiny seed-0 checkpoints are committed as
 * fixtures by tools/reference/make-fixtures.sh.
 */
const fixtures = path.join(__dirname, '..', 'fixtures', 'reference');
const readJson = (name: string) => JSON.parse(fs.readFileSync(path.join(fixtures, name), 'utf8'));

describe.each(['wasm', 'cpu'] as const)('forward passes match the PyTorch reference on %s', (backend) => {
  const tiny = makeTinyCheckpoints();
  beforeAll(() => selectBackend({ requested: backend, log: () => {} }));
  afterAll(() => tiny.remove());

  for (const family of ['llama', 'bloom', 'bert'] as const) {
    it(`${family}: logits agree to 1e-4`, () => {
      const fixture = readJson(`${family}.json`);
      const checkpoint = fs.readFileSync(path.join(tiny.path(family), 'model.safetensors'));
      const digest = createHash('sha256').update(checkpoint).digest('hex');
      if (digest !== fixture.checkpoint_sha256) {
        throw new Error(`the tiny ${family} checkpoint changed: rerun tools/reference/make-fixtures.sh`);
      }
      const inputs = readJson(fixture.inputs);
      const ids = tf.tensor2d(inputs.input_ids, undefined, 'int32');
      const mask = tf.tensor2d(inputs.attention_mask, undefined, 'int32');
      const loaded = loadModel(tiny.path(family));
      const expected: number[][] | number[][][] = fixture.logits;
      if (loaded.kind === 'causal-lm') {
        const logits = loaded.model.forward({ inputIds: ids, attentionMask: mask }).logits.arraySync();
        // Compare real positions only: what a padded query attends to is a convention, not a result.
        inputs.attention_mask.forEach((row: number[], b: number) =>
          row.forEach((real, t) => {
            if (!real) return;
            const got = logits[b][t];
            const want = (expected as number[][][])[b][t];
            expect(Math.max(...got.map((v, i) => Math.abs(v - want[i])))).toBeLessThan(1e-4);
          }),
        );
      } else {
        const types = tf.tensor2d(inputs.token_type_ids, undefined, 'int32');
        const logits = loaded.model.forward({ inputIds: ids, attentionMask: mask, tokenTypeIds: types }).arraySync();
        logits.forEach((row, b) =>
          row.forEach((v, i) => expect(Math.abs(v - (expected as number[][])[b][i])).toBeLessThan(1e-4)),
        );
      }
      loaded.model.dispose();
    });
  }
});
