import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { estimateMemory } from '../../src/experiment/estimate-memory';
import { writeSafetensors } from '../../src/io/safetensors';
import { architectureFromConfig } from '../../src/models/registry';
import { defaultLora } from '../../src/nas/nas-config';
import { llamaConfigJson } from '../../tools/tiny-checkpoints/make';
import { lonasCli } from '../support/cli';

/** A llama2.c LLaMA shape as config.json (untied lm_head, as llama2.c's exports). */
const llama = (hidden: number, inner: number, layers: number, heads: number, kvHeads = heads) =>
  llamaConfigJson({ hidden, inner, layers, heads, kvHeads, vocab: 32000, maxPositions: 2048 }, 1e-5);
const lora = { ...defaultLora.llama, rank: 8, alpha: 16, dropout: 0 };
const mib = 1024 ** 2;

describe('the memory estimate', () => {
  // The wasm heap after LoRA training steps (batch 4 x 128; `npm run bench scale`, to 0.01 GiB) and
  // after 4-beam generation (8 prompts of 100 tokens, 32 new), measured on random-weight models
  // (docs/backends.md, "Memory").
  it.each([
    ['15M', llama(288, 768, 6, 6), 0.41 * 1024, 759.8],
    ['42M', llama(512, 1376, 8, 8), 0.78 * 1024, 1804.3],
    ['110M', llama(768, 2048, 12, 12), 1.5 * 1024, 3891.1],
  ])('is within 10%% of the measured heap on the %s shape', (_, config, trainMiB, generateMiB) => {
    const architecture = architectureFromConfig(config, 'config.json');
    const train = estimateMemory(architecture, config, { sequences: 4, tokens: 128, training: true, lora });
    const generate = estimateMemory(architecture, config, { sequences: 8 * 4, tokens: 100, training: false, lora });
    expect(Math.abs(train.total / mib / trainMiB - 1)).toBeLessThan(0.1);
    expect(Math.abs(generate.total / mib / generateMiB - 1)).toBeLessThan(0.1);
    expect(train.weights).toBe(
      4 *
        (architecture.linears.reduce((s, l) => s + l.inFeatures * l.outFeatures, 0) +
          32000 * Number(config.hidden_size)),
    );
  });

  describe('choosing the backend of a run', () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'lonas-memory-'));
    afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));
    const train = path.join(folder, 'train.json');
    fs.writeFileSync(train, JSON.stringify(['one sentence', 'another sentence']));
    /** A model folder with a config of this shape and no weights: the run stops after choosing its backend. */
    const shapeOnly = (name: string, config: object) => {
      const model = path.join(folder, name);
      fs.mkdirSync(model);
      fs.writeFileSync(path.join(model, 'config.json'), JSON.stringify(config));
      writeSafetensors(path.join(model, 'model.safetensors'), {});
      return model;
    };
    const trainOn = (model: string, out: string) =>
      lonasCli([
        'train',
        ...[
          '--model_name_or_path',
          model,
          '--nncf_config',
          path.join(__dirname, '..', '..', 'configs', 'tiny', 'llama.json'),
        ],
        ...['--train_file', train, '--output_dir', path.join(folder, out), '--per_device_train_batch_size', '4'],
        ...['--max_seq_length', '128'],
      ]);

    it('a model past the wasm heap goes to cpu, and the start-up line says why', async () => {
      // A ~370M LLaMA: a training step needs about 4.2 GiB.
      const run = await trainOn(shapeOnly('llama-370m', llama(1024, 2816, 24, 16)), 'big');
      expect(run.stderr).toMatch(
        /lonas: backend cpu — .* — automatic; .*wasm skipped \(this run needs about \d+\.\d GiB \(weights \d+\.\d GiB, adapter \d\.\d GiB, activations \d+\.\d GiB\), past wasm's 4 GiB heap\)/,
      );
    });

    it('a model past the machine is refused before anything loads, naming the estimate and the limit', async () => {
      const run = await trainOn(shapeOnly('llama-65b', llama(8192, 22016, 80, 64)), 'huge');
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(
        new RegExp(
          `this run needs about \\d+\\.\\d GiB \\(weights .*\\), more than this machine's ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB of memory`,
        ),
      );
      expect(run.stderr).not.toContain('lonas: backend');
    });
  });
});
