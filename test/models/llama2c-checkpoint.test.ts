import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as path from 'path';
import { selectBackend } from '../../src/backend';
import { generate } from '../../src/eval/generate';
import { HfCheckpoint } from '../../src/io/hf-checkpoint';
import { loadCausalLM } from '../../src/models/registry';
import { describeWithSharedData, sharedData } from '../support/shared-data';
import { makeTinyCheckpoints } from '../support/tiny-checkpoints';

/**
 * Writes the tiny HF LLaMA as a llama2.c file, by the layout llama2.c's export.py uses:
 * rotary pairs of wq/wk interleaved (the inverse of HF's converter), a negative vocab size for
 * an untied classifier.
 */
function writeLlama2c(hfFolder: string, file: string): void {
  const checkpoint = HfCheckpoint.open(hfFolder);
  const config = checkpoint.config as Record<string, number>;
  const [dim, hidden, layers, heads, kvHeads, vocab] = [
    config.hidden_size,
    config.intermediate_size,
    config.num_hidden_layers,
    config.num_attention_heads,
    config.num_key_value_heads,
    config.vocab_size,
  ];
  const seqLen = 64;
  const headDim = dim / heads;
  const tensor = (name: string) => Array.from(checkpoint.read(name).data);
  const interleave = (weight: number[], nHeads: number) => {
    const out = new Array<number>(weight.length);
    for (let h = 0; h < nHeads; h++)
      for (let j = 0; j < headDim / 2; j++)
        for (const c of [0, 1])
          for (let col = 0; col < dim; col++) {
            out[(h * headDim + 2 * j + c) * dim + col] = weight[(h * headDim + c * (headDim / 2) + j) * dim + col];
          }
    return out;
  };
  const perLayer = (name: (i: number) => string, transform = (w: number[]) => w) =>
    Array.from({ length: layers }, (_, i) => transform(tensor(name(i)))).flat();
  const p = (i: number) => `model.layers.${i}`;
  const floats = [
    ...tensor('model.embed_tokens.weight'),
    ...perLayer((i) => `${p(i)}.input_layernorm.weight`),
    ...perLayer(
      (i) => `${p(i)}.self_attn.q_proj.weight`,
      (w) => interleave(w, heads),
    ),
    ...perLayer(
      (i) => `${p(i)}.self_attn.k_proj.weight`,
      (w) => interleave(w, kvHeads),
    ),
    ...perLayer((i) => `${p(i)}.self_attn.v_proj.weight`),
    ...perLayer((i) => `${p(i)}.self_attn.o_proj.weight`),
    ...perLayer((i) => `${p(i)}.post_attention_layernorm.weight`),
    ...perLayer((i) => `${p(i)}.mlp.gate_proj.weight`),
    ...perLayer((i) => `${p(i)}.mlp.down_proj.weight`),
    ...perLayer((i) => `${p(i)}.mlp.up_proj.weight`),
    ...tensor('model.norm.weight'),
    ...new Array<number>(seqLen * headDim).fill(0), // freq_cis_real and freq_cis_imag, unused
    ...tensor('lm_head.weight'),
  ];
  const header = Buffer.alloc(28);
  [dim, hidden, layers, heads, kvHeads, -vocab, seqLen].forEach((v, i) => header.writeInt32LE(v, 4 * i));
  fs.writeFileSync(file, Buffer.concat([header, Buffer.from(Float32Array.from(floats).buffer)]));
}

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

    it.each([true, false])('generates the reference 200 greedy tokens (host decoding %s)', (hostDecoding) => {
      const golden = JSON.parse(fs.readFileSync(sharedData('models/stories260K/golden_greedy200.json'), 'utf8'));
      const model = loadCausalLM(sharedData('models/stories260K/stories260K.bin'));
      const { sequences } = generate(model, [[1]], { maxNewTokens: 200, eosTokenIds: [], hostDecoding });
      expect(sequences[0]).toEqual(golden.generated_ids);
      model.dispose();
    });
  },
);
