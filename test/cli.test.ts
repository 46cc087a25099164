import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../src/backend';
import { saveAdapter } from '../src/nas/peft-adapter';
import type { CausalLM } from '../src/models/causal-lm';
import { openCheckpoint } from '../src/models/checkpoint';
import { loadCausalLM } from '../src/models/registry';
import { readNasConfig } from '../src/nas/nas-config';
import { openSuperNetwork } from '../src/nas/open-super-network';
import { describeWithSharedData, sharedData } from './support/shared-data';
import { makeTinyCheckpoints } from './support/tiny-checkpoints';
import { lonasCli as cli } from './support/cli';

describe('lonas CLI', () => {
  it('lists its commands', async () => {
    const { code, stdout } = await cli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/backend +choose the tensor backend/);
    expect(stdout).toMatch(/generate +continue a prompt/);
  });

  it('honours --backend over LONAS_BACKEND and reports the choice', async () => {
    const { code, stdout } = await cli(['backend', '--backend', 'cpu', '--json'], { env: { LONAS_BACKEND: 'wasm' } });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ name: 'cpu', reason: 'asked for by --backend' });
  });

  it('reports the backend it chose on stderr, in one line', async () => {
    const { code, stderr } = await cli(['backend'], { env: { LONAS_BACKEND: 'wasm' } });
    expect(code).toBe(0);
    expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/^lonas: backend wasm .*LONAS_BACKEND/)]);
  });

  it('fails with a clear message on an unknown backend', async () => {
    const { code, stderr } = await cli(['backend'], { env: { LONAS_BACKEND: 'metal' } });
    expect(code).toBe(1);
    expect(stderr).toContain('LONAS_BACKEND=metal is not a backend');
  });

  it('rejects an unknown option with the usage', async () => {
    const { code, stderr } = await cli(['backend', '--bogus']);
    expect(code).toBe(2);
    expect(stderr).toContain("Unknown option '--bogus'");
    expect(stderr).toContain('usage: lonas backend');
  });

  it('rejects an unknown command', async () => {
    const { code, stderr } = await cli(['train-everything']);
    expect(code).toBe(2);
    expect(stderr).toContain("unknown command 'train-everything'");
  });
});

describe('lonas generate', () => {
  const tiny = makeTinyCheckpoints();
  afterAll(() => tiny.remove());

  it.each(['llama', 'bloom'] as const)('continues a prompt with a tiny %s folder, as JSON', async (family) => {
    const args = ['generate', '--model', tiny.path(family), '--prompt', 'the cat', '--max_new_tokens', '5', '--json'];
    const { code, stdout } = await cli(args);
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.ids.length).toBeGreaterThan(0);
    expect(result.ids.length).toBeLessThanOrEqual(5);
    expect(typeof result.text).toBe('string');
    const beams = JSON.parse((await cli([...args, '--num_beams', '3'])).stdout);
    expect(beams.ids.length).toBeLessThanOrEqual(5);
  });

  it('names what is wrong with its flags and files', async () => {
    expect((await cli(['generate'])).stderr).toContain('--model is required');
    const beams = await cli(['generate', '--model', tiny.path('llama'), '--num_beams', '0']);
    expect(beams.code).toBe(2);
    expect(beams.stderr).toContain("--num_beams must be a positive integer, got '0'");
    const long = await cli(['generate', '--model', tiny.path('llama'), '--prompt', 'the cat '.repeat(400)]);
    expect(long.code).toBe(2);
    expect(long.stderr).toMatch(/the prompt's \d+ tokens plus --max_new_tokens \d+ exceed the model's \d+ positions/);
    const missing = await cli(['generate', '--model', `${tiny.folder}/nothing-here`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nothing-here: no such model folder or checkpoint file');
  });
});

describeWithSharedData(
  'lonas generate on stories260K',
  ['models/stories260K/stories260K.bin', 'models/stories260K/tok512.bin', 'models/stories260K/golden_greedy200.json'],
  () => {
    it('prints exactly the 200 golden ids and text', async () => {
      const dir = sharedData('models/stories260K');
      const { code, stdout } = await cli([
        'generate',
        '--model',
        `${dir}/stories260K.bin`,
        '--tokenizer',
        `${dir}/tok512.bin`,
        '--max_new_tokens',
        '200',
        '--json',
      ]);
      expect(code).toBe(0);
      const golden = JSON.parse(fs.readFileSync(`${dir}/golden_greedy200.json`, 'utf8'));
      expect(JSON.parse(stdout)).toEqual({ ids: golden.generated_ids, text: golden.text });
    });
  },
);

describe('lonas cost and export', () => {
  const tiny = makeTinyCheckpoints();
  afterAll(() => tiny.remove());
  const root = `${__dirname}/..`;

  it('says in one line what is wrong with a non-JSON --model_config or a --subnet that is not an object', async () => {
    const bad = path.join(tiny.folder, 'not-a-config.json');
    fs.writeFileSync(bad, 'not json');
    const config = `${root}/configs/llama-7b-commonsense.json`;
    const notJson = await cli(['cost', '--model_config', bad, '--nncf_config', config]);
    expect(notJson.code).toBe(1);
    expect(notJson.stderr.trim().split('\n')).toEqual([expect.stringContaining(`${bad}: not valid JSON`)]);
    const model = `${root}/test/fixtures/configs/llama-7b.json`;
    const nullSubnet = await cli(['cost', '--model_config', model, '--nncf_config', config, '--subnet', 'null']);
    expect(nullSubnet.code).toBe(2);
    expect(nullSubnet.stderr).toContain('--subnet must be an object of {group index: width}, got null');
    expect(nullSubnet.stderr).not.toContain('TypeError');
  });

  it('counts LLaMA-7B from config.json alone: 6.68e9 / 5.59e9 weights, 1.71e12 / 1.43e12 MACs', async () => {
    const cost = async (subnet: string) => {
      const { code, stdout } = await cli([
        'cost',
        '--model_config',
        `${root}/test/fixtures/configs/llama-7b.json`,
        '--nncf_config',
        `${root}/configs/llama-7b-commonsense.json`,
        '--subnet',
        subnet,
        '--tokens',
        '256',
        '--json',
      ]);
      expect(code).toBe(0);
      const { weights, macs } = JSON.parse(stdout);
      return [Number(weights.toPrecision(3)), Number(macs.toPrecision(3))];
    };
    expect(await cost('max')).toEqual([6.68e9, 1.71e12]);
    expect(await cost('heuristic')).toEqual([5.59e9, 1.43e12]);
  });

  it('names a bad subnet', async () => {
    const { code, stderr } = await cli([
      'cost',
      '--model_config',
      `${root}/test/fixtures/configs/bert-base-uncased.json`,
      '--nncf_config',
      `${root}/configs/bert-base-glue-rte.json`,
      '--subnet',
      '{"0": 700}',
    ]);
    expect(code).toBe(1);
    expect(stderr).toContain(
      'subnet gives group 0 (width of bert.encoder.layer.0.attention.self.query, ...) width 700',
    );
  });

  it('exports a subnet of a saved super-adapter as a sub-adapter and a compressed model', async () => {
    await selectBackend({ requested: 'wasm', log: () => {} });
    const checkpoint = openCheckpoint(tiny.path('llama'));
    const { loaded, network } = openSuperNetwork(checkpoint, readNasConfig(`${root}/configs/tiny/llama.json`), {
      seed: 3,
    });
    const { plan } = network;
    for (const layer of network.layers.values())
      layer.loraB?.assign(tf.randomNormal(layer.loraB.shape, 0, 0.3, 'float32', 4));
    await saveAdapter(`${tiny.folder}/super`, network, { baseModel: tiny.path('llama'), taskType: 'CAUSAL_LM' });
    const args = ['--model_name_or_path', tiny.path('llama'), '--nncf_config', `${root}/configs/tiny/llama.json`];
    const { code, stdout } = await cli([
      'export',
      ...args,
      '--lora_weights',
      `${tiny.folder}/super`,
      '--subnet',
      'min',
      '--output_dir',
      `${tiny.folder}/min`,
    ]);
    expect(code).toBe(0);
    expect(stdout).toContain(`wrote ${tiny.folder}/min/adapter and ${tiny.folder}/min/compressed`);
    network.activate(plan.space.minimal());
    const ids = tf.tensor2d([[1, 50, 65, 82]], undefined, 'int32');
    const compressed = loadCausalLM(`${tiny.folder}/min/compressed`);
    const expected = (loaded.model as CausalLM).forward({ inputIds: ids }).logits;
    const got = compressed.forward({ inputIds: ids }).logits;
    expect(tf.max(tf.abs(tf.sub(expected, got))).dataSync()[0]).toBeLessThan(1e-4);
    expect(fs.existsSync(`${tiny.folder}/min/adapter/adapter_model.safetensors`)).toBe(true);
    const missing = await cli([
      'export',
      ...args,
      '--lora_weights',
      `${tiny.folder}/nothing`,
      '--output_dir',
      `${tiny.folder}/x`,
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nothing: no adapter_config.json');
  });
});

describe('lonas train', () => {
  const tiny = makeTinyCheckpoints();
  afterAll(() => tiny.remove());

  it('refuses a bad schedule before loading anything', async () => {
    const config = JSON.parse(fs.readFileSync(`${__dirname}/../configs/tiny/llama.json`, 'utf8'));
    config.bootstrapNAS.training.schedule.list_stage_descriptions[0].epochs = 0;
    fs.writeFileSync(`${tiny.folder}/bad.json`, JSON.stringify(config));
    fs.writeFileSync(`${tiny.folder}/corpus.json`, JSON.stringify(['the cat']));
    const args = [
      '--nncf_config',
      `${tiny.folder}/bad.json`,
      '--train_file',
      `${tiny.folder}/corpus.json`,
      '--output_dir',
      `${tiny.folder}/out`,
    ];
    const { code, stderr } = await cli(['train', '--model_name_or_path', `${tiny.folder}/no-model-here`, ...args]);
    expect(code).toBe(1);
    expect(stderr).toContain('bad.json: list_stage_descriptions[0]: epochs must be a positive integer, got 0');
    expect(stderr).not.toContain('backend');
  });

  it('names a malformed line of the training file', async () => {
    fs.writeFileSync(`${tiny.folder}/broken.jsonl`, '{"text": "fine"}\n{"text": 3}\n');
    const { code, stderr } = await cli([
      'train',
      '--model_name_or_path',
      tiny.path('llama'),
      '--nncf_config',
      `${__dirname}/../configs/tiny/llama.json`,
      '--train_file',
      `${tiny.folder}/broken.jsonl`,
      '--output_dir',
      `${tiny.folder}/out2`,
    ]);
    expect(code).toBe(1);
    expect(stderr).toContain('broken.jsonl:2: expected a string or an object with a "text" string');
  });
});
