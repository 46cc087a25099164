import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as path from 'path';
import { selectBackend } from '../../src/backend';
import { generate } from '../../src/eval/generate';
import { loadCausalLM } from '../../src/models/registry';
import { describeWithSharedData, sharedData } from '../support/shared-data';
import { makeTinyCheckpoints } from '../support/tiny-checkpoints';
import { writeLlama2c } from '../../tools/tiny-checkpoints/llama2c';

describe('llama2.c checkpoints', () => {
  const tiny = makeTinyCheckpoints();
  beforeAll(() => selectBackend({ requested: 'wasm', log: () => {} }));
  afterAll(() => tiny.remove());

  it('load to the same model as the Hugging Face folder they were exported from', () => {
    const file = path.join(tiny.folder, 'tiny-llama.bin');
    writeLlama2c(tiny.path('llama'), file);
    const fromBin = loadCausalLM(file);
    const fromFolder = loadCausalLM(tiny.path('llama'));
    expect(fromBin.config).toMatchObject({ vocabSize: fromFolder.config.vocabSize, maxPositions: 64 });
    const ids = tf.tensor2d([[1, 270, 275, 282, 100, 40]], undefined, 'int32');
    const a = fromBin.forward({ inputIds: ids }).logits;
    const b = fromFolder.forward({ inputIds: ids }).logits;
    // The fixture model's RMSNorm eps is 1e-6; llama2.c's is 1e-5: agreement within that effect.
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThan(1e-3);
  });

  it('refuses a file whose size disagrees with its header, naming the file', () => {
    const file = path.join(tiny.folder, 'truncated.bin');
    writeLlama2c(tiny.path('llama'), file);
    fs.truncateSync(file, fs.statSync(file).size - 4);
    expect(() => loadCausalLM(file)).toThrow(/truncated\.bin: \d+ bytes, but its header implies \d+/);
  });

  it('refuses a header that is not a llama2.c model', () => {
    const file = path.join(tiny.folder, 'bad-header.bin');
    fs.writeFileSync(file, Buffer.alloc(64));
    expect(() => loadCausalLM(file)).toThrow(/bad-header\.bin: header \[dim 0, .*\] is not a llama2\.c model/);
  });
});

describeWithSharedData(
  'stories260K (real llama2.c model)',
  ['models/stories260K/stories260K.bin', 'models/stories260K/golden_greedy200.json'],
  () => {
    beforeAll(() => selectBackend({ requested: 'wasm', log: () => {} }));

    it('reproduces the reference logits at positions 0 and 1 to 1e-4', () => {
      const golden = JSON.parse(fs.readFileSync(sharedData('models/stories260K/golden_greedy200.json'), 'utf8'));
      const model = loadCausalLM(sharedData('models/stories260K/stories260K.bin'));
      const ids = tf.tensor2d([[1, golden.generated_ids[0]]], undefined, 'int32');
      const [first, second] = model.forward({ inputIds: ids }).logits.arraySync()[0];
      const worst = (got: number[], want: number[]) => Math.max(...got.map((v, i) => Math.abs(v - want[i])));
      expect(worst(first, golden.logits_pos0_after_BOS)).toBeLessThan(1e-4);
      expect(worst(second, golden.logits_pos1)).toBeLessThan(1e-4);
      model.dispose();
    });

    it.each([true, false])('generates the reference 200 greedy tokens (host decoding %s)', async (hostDecoding) => {
      const golden = JSON.parse(fs.readFileSync(sharedData('models/stories260K/golden_greedy200.json'), 'utf8'));
      const model = loadCausalLM(sharedData('models/stories260K/stories260K.bin'));
      const { sequences } = await generate(model, [[1]], { maxNewTokens: 200, eosTokenIds: [], hostDecoding });
      expect(sequences[0]).toEqual(golden.generated_ids);
      model.dispose();
    });
  },
);
