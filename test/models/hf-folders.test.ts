import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as path from 'path';
import { selectBackend } from '../../src/backend';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../src/io/safetensors';
import { loadCausalLM, loadModel } from '../../src/models/registry';
import { makeTinyCheckpoints } from '../support/tiny-checkpoints';

describe('Hugging Face model folders', () => {
  const tiny = makeTinyCheckpoints();
  beforeAll(() => selectBackend({ requested: 'wasm', log: () => {} }));
  afterAll(() => tiny.remove());

  /** One tensor of a file, ready to write elsewhere. */
  const copy = (source: SafetensorsFile, name: string): TensorToWrite => {
    const { shape, data } = source.read(name);
    return { shape, data };
  };

  /** A copy of the tiny LLaMA folder whose config and tensors `edit` may change. */
  function variant(
    name: string,
    edit: (config: Record<string, unknown>, tensors: Record<string, TensorToWrite>) => void,
  ) {
    const folder = path.join(tiny.folder, name);
    fs.mkdirSync(folder);
    const source = SafetensorsFile.open(path.join(tiny.path('llama'), 'model.safetensors'));
    const tensors: Record<string, TensorToWrite> = {};
    for (const tensor of source.entries.keys()) tensors[tensor] = copy(source, tensor);
    const config = JSON.parse(fs.readFileSync(path.join(tiny.path('llama'), 'config.json'), 'utf8'));
    edit(config, tensors);
    fs.writeFileSync(path.join(folder, 'config.json'), JSON.stringify(config));
    writeSafetensors(path.join(folder, 'model.safetensors'), tensors);
    return folder;
  }

  it('reads sharded checkpoints through model.safetensors.index.json', () => {
    const folder = path.join(tiny.folder, 'sharded');
    fs.mkdirSync(folder);
    fs.copyFileSync(path.join(tiny.path('llama'), 'config.json'), path.join(folder, 'config.json'));
    const source = SafetensorsFile.open(path.join(tiny.path('llama'), 'model.safetensors'));
    const names = [...source.entries.keys()];
    const shards = [names.slice(0, 7), names.slice(7)];
    const weightMap: Record<string, string> = {};
    shards.forEach((shard, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      writeSafetensors(path.join(folder, file), Object.fromEntries(shard.map((n) => [n, copy(source, n)])));
      for (const n of shard) weightMap[n] = file;
    });
    fs.writeFileSync(
      path.join(folder, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: {}, weight_map: weightMap }),
    );
    const ids = tf.tensor2d([[1, 270, 275]], undefined, 'int32');
    const sharded = loadCausalLM(folder).forward({ inputIds: ids }).logits;
    const single = loadCausalLM(tiny.path('llama')).forward({ inputIds: ids }).logits;
    expect(tf.max(tf.abs(tf.sub(sharded, single))).dataSync()[0]).toBe(0);
  });

  it('names a missing tensor and its expected shape', () => {
    const folder = variant('missing', (_, tensors) => delete tensors['model.layers.1.mlp.up_proj.weight']);
    expect(() => loadModel(folder)).toThrow(
      `${folder}: missing tensor 'model.layers.1.mlp.up_proj.weight' (expected shape [88,32])`,
    );
  });

  it('names a tensor of the wrong shape, with expected and found shapes', () => {
    const folder = variant('misshapen', (_, tensors) => {
      tensors['model.layers.0.self_attn.k_proj.weight'] = { shape: [8, 32], data: new Float32Array(256) };
    });
    expect(() => loadModel(folder)).toThrow(
      `${folder}: tensor 'model.layers.0.self_attn.k_proj.weight' has shape [8,32], expected [16,32]`,
    );
  });

  it('names an unsupported model_type and lists the supported ones', () => {
    const folder = variant('gpt2', (config) => (config.model_type = 'gpt2'));
    expect(() => loadModel(folder)).toThrow(
      /config\.json: model_type "gpt2" is not supported \(supported: llama, bloom, bert\)/,
    );
  });

  it('names a bad config field', () => {
    const folder = variant('bad-config', (config) => (config.num_hidden_layers = 'two'));
    expect(() => loadModel(folder)).toThrow(/config\.json: 'num_hidden_layers' must be a positive integer, got "two"/);
  });

  it('explains a folder with PyTorch weights only', () => {
    const folder = path.join(tiny.folder, 'torch-only');
    fs.mkdirSync(folder);
    fs.copyFileSync(path.join(tiny.path('llama'), 'config.json'), path.join(folder, 'config.json'));
    fs.writeFileSync(path.join(folder, 'pytorch_model.bin'), 'not read');
    expect(() => loadModel(folder)).toThrow(
      /no model\.safetensors .*found pytorch_model\.bin: lonas reads safetensors only/,
    );
  });

  it('refuses to generate with an encoder', () => {
    expect(() => loadCausalLM(tiny.path('bert'))).toThrow(/a bert model does not generate text/);
  });

  it('gives BERT a classifier when the checkpoint is a bare encoder', () => {
    const folder = path.join(tiny.folder, 'bare-bert');
    fs.mkdirSync(folder);
    const source = SafetensorsFile.open(path.join(tiny.path('bert'), 'model.safetensors'));
    const kept = [...source.entries.keys()].filter((n) => !n.startsWith('classifier') && !n.startsWith('bert.pooler'));
    // Saved from BertModel: no "bert." prefix.
    writeSafetensors(
      path.join(folder, 'model.safetensors'),
      Object.fromEntries(kept.map((n) => [n.replace(/^bert\./, ''), copy(source, n)])),
    );
    fs.copyFileSync(path.join(tiny.path('bert'), 'config.json'), path.join(folder, 'config.json'));
    const loaded = loadModel(folder);
    expect(loaded.kind).toBe('sequence-classification');
    if (loaded.kind !== 'sequence-classification') return;
    const logits = loaded.model.forward({ inputIds: tf.tensor2d([[2, 50, 3]], undefined, 'int32') });
    expect(logits.shape).toEqual([1, 3]);
  });
});
