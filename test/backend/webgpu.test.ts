import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as path from 'path';
import { train } from '../../actors/trainer';
import { selectBackend } from '../../src/backend';
import { generate } from '../../src/eval/generate';
import { loadCausalLM } from '../../src/models/registry';
import { lonasCli as cli } from '../support/cli';
import { describeUnless } from '../support/describe-unless';
import { worstFixtureDifference } from '../support/reference-fixtures';
import { describeWithSharedData, sharedData } from '../support/shared-data';
import { seededLoraStep } from '../support/seeded-lora-step';
import { makeTinyCheckpoints } from '../support/tiny-checkpoints';
import { evenRecords, tinyTraining } from '../support/training';
import { webgpuMissing } from '../support/webgpu';

const configs = path.join(__dirname, '..', '..', 'configs');
const families = ['llama', 'bert', 'bloom'] as const;
type Family = (typeof families)[number];

/** A LoRA step's loss and the gradient of every trainable variable, read back without blocking. */
interface LossAndGradients {
  loss: number;
  gradients: Float32Array[];
}

/**
 * One LoRA step of the tiny `family` on its heuristic (narrowed) subnet, on the current backend:
 * the same seeded adapter values and batch whatever the backend.
 */
async function loraStep(family: Family, folder: string): Promise<LossAndGradients> {
  const { loaded, variables, batch, loss } = seededLoraStep(family, folder);
  const { value, grads } = tf.variableGrads(() => loss(batch), variables);
  const result = {
    loss: (await value.data())[0],
    gradients: await Promise.all(variables.map(async (v) => (await grads[v.name].data()) as Float32Array)),
  };
  tf.dispose([value, ...Object.values(grads)]);
  loaded.model.dispose();
  return result;
}

describeUnless(webgpuMissing(), 'the webgpu backend', () => {
  const tiny = makeTinyCheckpoints();
  afterAll(() => tiny.remove());
  // wasm's numbers first: tensors move from a host backend to the GPU, never back.
  const onWasm = new Map<Family, LossAndGradients>();
  beforeAll(async () => {
    await selectBackend({ requested: 'wasm', log: () => {} });
    for (const family of families) onWasm.set(family, await loraStep(family, tiny.path(family)));
    await selectBackend({ requested: 'webgpu', log: () => {} });
  });

  it.each(families)("%s: a LoRA step on a narrowed subnet gives wasm's loss and gradients to 1e-4", async (family) => {
    const expected = onWasm.get(family) as LossAndGradients;
    const got = await loraStep(family, tiny.path(family));
    expect(Math.abs(got.loss - expected.loss)).toBeLessThan(1e-4 * Math.abs(expected.loss));
    got.gradients.forEach((gradient, i) => {
      const scale = Math.max(...Array.from(expected.gradients[i], Math.abs));
      const worst = Math.max(...Array.from(gradient, (g, j) => Math.abs(g - expected.gradients[i][j])));
      expect(worst).toBeLessThanOrEqual(1e-4 * scale);
    });
  });

  it.each(families)('%s: logits match the PyTorch reference to 1e-4', async (family) => {
    expect(await worstFixtureDifference(family, tiny.path(family))).toBeLessThan(1e-4);
  });

  it('keeps the tensors and their bytes flat over 24 training steps and over a generation', async () => {
    const memory: Array<[number, number]> = [];
    const { input, loaded } = tinyTraining(tiny.path('llama'), `${tiny.folder}/flat`, {
      saveStrategy: 'no',
      epochs: 4,
      events: { next: (e) => e.type === 'train.step' && memory.push([tf.memory().numTensors, tf.memory().numBytes]) },
    });
    await train(input);
    expect(memory).toHaveLength(24);
    // Between optimizer steps the accumulated gradients are held: compare like with like.
    for (const parity of [0, 1]) {
      const alike = memory.filter((_, i) => i % 2 === parity).slice(1);
      expect(new Set(alike.map((m) => m.join())).size).toBe(1);
    }
    loaded.model.dispose();
    const held = () => [tf.memory().numTensors, tf.memory().numBytes];
    const withoutModel = held();
    const model = loadCausalLM(tiny.path('llama'));
    // The first step makes the model's rotary tables on the device; they stay until it is disposed.
    await generate(model, [[1]], { maxNewTokens: 1, eosTokenIds: [] });
    const before = held();
    await generate(model, [[1, 270, 275]], { maxNewTokens: 12, eosTokenIds: [] });
    await generate(model, [[1, 270, 275]], { maxNewTokens: 12, numBeams: 3, eosTokenIds: [] });
    expect(held()).toEqual(before);
    model.dispose();
    expect(held()).toEqual(withoutModel);
  });

  it('runs lonas commonsense --do_train --do_test --do_search, then lonas export, on a tiny LLaMA', async () => {
    const records = evenRecords(8);
    const train = path.join(tiny.folder, 'train.json');
    fs.writeFileSync(train, JSON.stringify(records));
    fs.mkdirSync(path.join(tiny.folder, 'datasets', 'boolq'), { recursive: true });
    fs.writeFileSync(path.join(tiny.folder, 'datasets', 'boolq', 'test.json'), JSON.stringify(records.slice(0, 2)));
    const config = JSON.parse(fs.readFileSync(path.join(configs, 'tiny', 'llama.json'), 'utf8'));
    config.bootstrapNAS.search = { algorithm: 'NSGA2', num_evals: 4, population: 2, ref_acc: 0.3, acc_delta: 0.01 };
    const nncf = path.join(tiny.folder, 'config.json');
    fs.writeFileSync(nncf, JSON.stringify(config));
    const out = path.join(tiny.folder, 'run');
    const { code, stderr } = await cli([
      'commonsense',
      ...['--model_name_or_path', tiny.path('llama'), '--nncf_config', nncf, '--dataset_path', train],
      ...['--val_set_size', '2', '--cutoff_len', '32', '--datasets_dir', path.join(tiny.folder, 'datasets')],
      ...['--test_datasets', 'boolq', '--output_dir', out, '--do_train', '--do_test', '--do_search'],
      ...['--num_train_epochs', '1', '--per_device_train_batch_size', '2', '--num_beams', '1'],
      ...['--max_new_tokens', '2', '--backend', 'webgpu'],
    ]);
    expect(stderr).toContain('lonas: backend webgpu');
    expect(code).toBe(0);
    for (const file of ['adapter_model.safetensors', 'test_results.json', 'search_summary.json', 'best_subnet.json'])
      expect(fs.existsSync(path.join(out, file))).toBe(true);
    const exported = await cli([
      'export',
      ...['--model_name_or_path', tiny.path('llama'), '--nncf_config', nncf, '--lora_weights', out],
      ...['--output_dir', path.join(tiny.folder, 'exported'), '--backend', 'webgpu'],
    ]);
    expect(exported.code).toBe(0);
    expect(fs.existsSync(path.join(tiny.folder, 'exported', 'compressed', 'model.safetensors'))).toBe(true);
  });

  it("refuses a run whose largest tensor is past one buffer binding, naming the tensor and the adapter's limit", async () => {
    const gib = 1024 ** 3;
    const memory = {
      weights: gib,
      adapter: 0,
      activations: 0,
      total: gib,
      largest: { what: 'the 32000x8192 embedding', bytes: gib },
    };
    await expect(
      selectBackend({ requested: 'webgpu', memory, machineMemory: 64 * gib, log: () => {} }),
    ).rejects.toThrow(
      /backend 'webgpu' cannot hold this run: this run's largest tensor, the 32000x8192 embedding \(1024 MiB\), is past the adapter's \d+ MiB limit on one buffer/,
    );
  });

  describeWithSharedData(
    'on stories260K',
    ['models/stories260K/stories260K.bin', 'models/stories260K/golden_greedy200.json'],
    () => {
      it("generates llama2.c's 200 reference greedy tokens", async () => {
        const golden = JSON.parse(fs.readFileSync(sharedData('models/stories260K/golden_greedy200.json'), 'utf8'));
        const model = loadCausalLM(sharedData('models/stories260K/stories260K.bin'));
        const { sequences } = await generate(model, [[1]], { maxNewTokens: 200, eosTokenIds: [] });
        expect(sequences[0]).toEqual(golden.generated_ids);
        model.dispose();
      });
    },
  );
});
