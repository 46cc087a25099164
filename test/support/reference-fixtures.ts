import * as tf from '@tensorflow/tfjs-core';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { loadModel } from '../../src/models/registry';

/**
 * lonas's forward passes against an independent PyTorch implementation
 * (tools/reference/forward.py), whose outputs on the tiny seed-0 checkpoints are committed as
 * fixtures by tools/reference/make-fixtures.sh.
 */
const fixtures = path.join(__dirname, '..', 'fixtures', 'reference');
const readJson = (name: string) => JSON.parse(fs.readFileSync(path.join(fixtures, name), 'utf8'));

/**
 * The largest absolute difference between the tiny `family` checkpoint's logits on the current
 * backend and PyTorch's (read back without blocking, so any backend will do).
 */
export async function worstFixtureDifference(family: 'llama' | 'bloom' | 'bert', folder: string): Promise<number> {
  const fixture = readJson(`${family}.json`);
  const digest = createHash('sha256')
    .update(fs.readFileSync(path.join(folder, 'model.safetensors')))
    .digest('hex');
  if (digest !== fixture.checkpoint_sha256) {
    throw new Error(`the tiny ${family} checkpoint changed: rerun tools/reference/make-fixtures.sh`);
  }
  const inputs = readJson(fixture.inputs);
  const loaded = loadModel(folder);
  const [ids, mask, types] = [inputs.input_ids, inputs.attention_mask, inputs.token_type_ids].map((rows) =>
    rows === undefined ? undefined : tf.tensor2d(rows, undefined, 'int32'),
  ) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D | undefined];
  let worst = 0;
  const compare = (got: number[], want: number[]) =>
    got.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - want[i]))));
  if (loaded.kind === 'causal-lm') {
    const output = loaded.model.forward({ inputIds: ids, attentionMask: mask }).logits;
    const logits = await output.array();
    output.dispose();
    // Compare real positions only: what a padded query attends to is a convention, not a result.
    inputs.attention_mask.forEach((row: number[], b: number) =>
      row.forEach((real, t) => real && compare(logits[b][t], fixture.logits[b][t])),
    );
  } else {
    const output = loaded.model.forward({ inputIds: ids, attentionMask: mask, tokenTypeIds: types });
    const logits = await output.array();
    output.dispose();
    logits.forEach((row, b) => compare(row, fixture.logits[b]));
  }
  tf.dispose([ids, mask, types]);
  loaded.model.dispose();
  return worst;
}
