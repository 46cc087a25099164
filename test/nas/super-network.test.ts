import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as path from 'path';
import { selectBackend } from '../../src/backend';
import { loadAdapter, readPeftAdapter, saveAdapter } from '../../src/nas/peft-adapter';
import { openCheckpoint } from '../../src/models/checkpoint';
import { loadModel, type LoadedModel } from '../../src/models/registry';
import type { LinearLayer } from '../../src/nn/linear';
import { exportCompressedModel } from '../../src/nas/export-compressed';
import { elasticPlanFor, readNasConfig } from '../../src/nas/nas-config';
import { openSuperNetwork } from '../../src/nas/open-super-network';
import type { SubnetConfig } from '../../src/nas/search-space';
import { SuperNetwork } from '../../src/nas/super-network';
import { architectureFromConfig } from '../../src/models/registry';
import { SeededRandom } from '../../src/util/seeded-random';
import { describeWithSharedData, sharedData } from '../support/shared-data';
import { makeTinyCheckpoints } from '../support/tiny-checkpoints';

type Family = 'llama' | 'bloom' | 'bert';
const configs = path.join(__dirname, '..', '..', 'configs', 'tiny');

describe('the elastic super-network', () => {
  const tiny = makeTinyCheckpoints();
  beforeAll(() => selectBackend({ requested: 'wasm', log: () => {} }));
  afterAll(() => tiny.remove());

  /** The tiny model of a family turned into a super-network, adapters randomised (B is zero at init). */
  function superNetwork(family: Family, seed = 1): { loaded: LoadedModel; network: SuperNetwork } {
    const checkpoint = openCheckpoint(tiny.path(family));
    const { loaded, network } = openSuperNetwork(checkpoint, readNasConfig(path.join(configs, `${family}.json`)), {
      seed,
    });
    const random = new SeededRandom(seed);
    for (const layer of network.layers.values()) {
      if (layer.loraB !== undefined)
        layer.loraB.assign(tf.tensor(random.normals(layer.loraB.size, 0.3), layer.loraB.shape));
    }
    return { loaded, network };
  }

  const inputs = () => ({
    inputIds: tf.tensor2d(
      [
        [1, 50, 65, 82, 90, 40],
        [2, 50, 60, 3, 70, 3],
      ],
      undefined,
      'int32',
    ),
    attentionMask: tf.tensor2d(
      [
        [1, 1, 1, 1, 1, 1],
        [1, 1, 1, 1, 1, 0],
      ],
      undefined,
      'int32',
    ),
  });
  const logits = (loaded: LoadedModel) =>
    loaded.kind === 'causal-lm' ? loaded.model.forward(inputs()).logits : loaded.model.forward(inputs());
  const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
  /** Largest difference relative to the logits' scale (float32 sums of tens of terms round at ~1e-7 each). */
  const relativeDiff = (a: tf.Tensor, b: tf.Tensor) => maxDiff(a, b) / Math.max(1, tf.max(tf.abs(b)).dataSync()[0]);

  /** Plain LoRA, written out here: y = x W + b + (alpha / r) x A B, no slicing anywhere. */
  class PlainLora implements LinearLayer {
    constructor(
      private readonly inner: LinearLayer,
      private readonly a: tf.Tensor,
      private readonly b: tf.Tensor,
      private readonly scale: number,
    ) {}
    get path() {
      return this.inner.path;
    }
    get inFeatures() {
      return this.inner.inFeatures;
    }
    get outFeatures() {
      return this.inner.outFeatures;
    }
    forward(x: tf.Tensor) {
      return tf.tidy(() => {
        const flat = tf.reshape(x, [-1, this.inFeatures]);
        const delta = tf.mul(tf.matMul(tf.matMul(flat, this.a), this.b), this.scale);
        return tf.add(this.inner.forward(x), tf.reshape(delta, [...x.shape.slice(0, -1), this.outFeatures]));
      });
    }
    dispose() {}
  }

  it.each(['llama', 'bloom', 'bert'] as Family[])('%s: at the max subnet equals a plain LoRA model', (family) => {
    const { loaded, network } = superNetwork(family);
    network.activate(network.plan.space.maximal());
    const elastic = logits(loaded);
    const plain = loadModel(tiny.path(family));
    for (const [modulePath, layer] of network.layers) {
      if (layer.loraA === undefined || layer.loraB === undefined) continue;
      plain.model.linears.replace(
        new PlainLora(plain.model.linears.get(modulePath), layer.loraA, layer.loraB, layer.scaling),
      );
    }
    for (const [modulePath, { weight, bias }] of network.savedModules) {
      const target = plain.model.linears.get(modulePath) as unknown as { weight: tf.Tensor; bias?: tf.Tensor };
      expect(maxDiff(target.weight, weight)).toBe(0);
      expect(bias === undefined || maxDiff(target.bias as tf.Tensor, bias) === 0).toBe(true);
    }
    expect(relativeDiff(elastic, logits(plain))).toBeLessThan(1e-5);
  });

  it.each(['llama', 'bloom', 'bert'] as Family[])(
    '%s: at random subnets equals the exported compressed model',
    async (family) => {
      const { loaded, network } = superNetwork(family);
      const random = new SeededRandom(3);
      const subnets = [
        network.plan.space.minimal(),
        network.plan.space.heuristic(),
        network.plan.space.sample(random),
        network.plan.space.sample(random),
      ];
      for (const [i, subnet] of subnets.entries()) {
        network.activate(subnet);
        const folder = path.join(tiny.folder, `${family}-compressed-${i}`);
        await exportCompressedModel(folder, openCheckpoint(tiny.path(family)), network, subnet);
        const compressed = loadModel(folder);
        expect(relativeDiff(logits(loaded), logits(compressed))).toBeLessThan(1e-5);
        compressed.model.dispose();
      }
      // The compressed model really is smaller.
      const minimal = JSON.parse(
        fs.readFileSync(path.join(tiny.folder, `${family}-compressed-0`, 'config.json'), 'utf8'),
      );
      expect(Object.keys(minimal.lonas_linear_shapes).length).toBeGreaterThan(0);
    },
  );

  it.each(['llama', 'bert'] as Family[])(
    '%s: a sub-adapter saved for a subnet and loaded back gives identical outputs',
    async (family) => {
      const { loaded, network } = superNetwork(family, 5);
      const subnet: SubnetConfig = network.plan.space.minimal();
      network.activate(subnet);
      const expected = logits(loaded);
      const folder = path.join(tiny.folder, `${family}-sub-adapter`);
      await saveAdapter(folder, network, {
        baseModel: tiny.path(family),
        taskType: family === 'bert' ? 'SEQ_CLS' : 'CAUSAL_LM',
        subnet,
      });
      const written = JSON.parse(fs.readFileSync(path.join(folder, 'adapter_config.json'), 'utf8'));
      const [first] = Object.keys(written.rank_pattern);
      // alpha' / r' keeps the super-adapter's alpha / r_max.
      expect(written.alpha_pattern[first] / written.rank_pattern[first]).toBeCloseTo(
        written.lora_alpha / written.r,
        10,
      );
      const fresh = superNetwork(family, 9);
      loadAdapter(folder, fresh.network);
      fresh.network.activate(subnet);
      expect(maxDiff(expected, logits(fresh.loaded))).toBeLessThan(1e-6);
    },
  );

  it('saves and reloads the full super-adapter, modules to save included', async () => {
    const { loaded, network } = superNetwork('bert', 5);
    const folder = path.join(tiny.folder, 'bert-super-adapter');
    await saveAdapter(folder, network, { baseModel: 'tiny-bert', taskType: 'SEQ_CLS' });
    const adapter = readPeftAdapter(folder);
    expect(adapter.config).toMatchObject({
      peft_type: 'LORA',
      r: 4,
      lora_alpha: 8,
      target_modules: ['query', 'value'],
      modules_to_save: ['classifier'],
    });
    expect(adapter.lora.get('bert.encoder.layer.0.attention.self.query')?.a?.shape).toEqual([4, 32]);
    expect(adapter.saved.get('classifier.weight')?.shape).toEqual([3, 32]);
    const fresh = superNetwork('bert', 11);
    const classifier = fresh.network.savedModules.get('classifier')?.weight as tf.Variable;
    classifier.assign(tf.zerosLike(classifier));
    loadAdapter(folder, fresh.network);
    const subnet = network.plan.space.heuristic();
    network.activate(subnet);
    fresh.network.activate(subnet);
    expect(maxDiff(logits(loaded), logits(fresh.loaded))).toBe(0);
    // An adapter_config.json whose r disagrees with the tensors is refused, as PEFT refuses it.
    const configFile = path.join(folder, 'adapter_config.json');
    fs.writeFileSync(configFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(configFile, 'utf8')), r: 8 }));
    expect(() => loadAdapter(folder, fresh.network)).toThrow(
      "'bert.encoder.layer.0.attention.self.query' has lora_A of rank 4, but adapter_config.json gives it r = 8",
    );
  });

  it('trains only adapters and modules to save; inactive adapter entries get zero gradients', () => {
    const { loaded, network } = superNetwork('llama');
    const variables = network.trainableVariables();
    expect(variables.length).toBe(2 * 2 * 6); // two layers, six adapted modules each, A and B
    const subnet = network.plan.space.minimal();
    network.activate(subnet);
    const q = network.layers.get('model.layers.0.self_attn.q_proj');
    const gate = network.layers.get('model.layers.0.mlp.gate_proj');
    const down = network.layers.get('model.layers.0.mlp.down_proj');
    if (q?.loraA === undefined || gate?.loraB === undefined || down?.loraA === undefined || loaded.kind !== 'causal-lm')
      throw new Error('missing');
    const { grads } = tf.variableGrads(
      () => tf.mean(tf.square(loaded.model.forward(inputs()).logits)) as tf.Scalar,
      [q.loraA, gate.loraB, down.loraA],
    );
    const rank = q.widths.rank;
    expect(rank).toBe(4);
    const tail = (g: tf.Tensor, begin: number[], size: number[]) =>
      tf.max(tf.abs(tf.slice(g, begin, size))).dataSync()[0];
    expect(tail(grads[q.loraA.name], [0, rank], [-1, -1])).toBe(0); // A columns past the active rank
    expect(tail(grads[q.loraA.name], [0, 0], [-1, rank])).toBeGreaterThan(0);
    const width = gate.widths.outFeatures;
    expect(width).toBe(44);
    expect(tail(grads[gate.loraB.name], [0, width], [-1, -1])).toBe(0); // B columns past the MLP width
    expect(tail(grads[down.loraA.name], [width, 0], [-1, -1])).toBe(0); // down_proj A rows past its input width
  });

  it('refuses a subnet width outside a group', () => {
    const { network } = superNetwork('llama');
    expect(() => network.activate({ ...network.plan.space.maximal(), 2: 50 })).toThrow(
      'subnet gives group 2 (width of model.layers.0.mlp.gate_proj, ...) width 50, not one of its choices [88,66,44]',
    );
  });

  describe('config errors', () => {
    const architecture = () =>
      architectureFromConfig(JSON.parse(fs.readFileSync(path.join(tiny.path('llama'), 'config.json'), 'utf8')), 'c');
    const withConfig = (name: string, edit: (config: Record<string, unknown>) => void) => {
      const config = JSON.parse(fs.readFileSync(path.join(configs, 'llama.json'), 'utf8'));
      edit(config);
      const file = path.join(tiny.folder, name);
      fs.writeFileSync(file, JSON.stringify(config));
      return () => elasticPlanFor(readNasConfig(file), architecture());
    };
    const nncfGroups = (groups: string[][], widths: number[][]) => (config: Record<string, unknown>) => {
      delete (config.lonas as Record<string, unknown>).search_space;
      const training = (config.bootstrapNAS as { training: { elasticity: Record<string, unknown> } }).training;
      training.elasticity.width = { overwrite_groups: groups, overwrite_groups_widths: widths };
    };
    const node = (layer: number, rest: string) =>
      `PeftModelForCausalLM/LoraModel[base_model]/LlamaForCausalLM[model]/LlamaModel[model]/ModuleList[layers]/LlamaDecoderLayer[${layer}]/${rest}`;

    it('names an NNCF node that maps to no layer', () => {
      const bad = node(7, 'LlamaMLP[mlp]/Linear[gate_proj]/NNCFUserSelfLinear[self_linear]/linear_0');
      expect(withConfig('unknown-node.json', nncfGroups([[bad]], [[88, 44]]))).toThrow(
        `NNCF node '${bad}' maps to no linear layer of the llama model`,
      );
    });

    it('refuses a width list whose first value is not the layer width', () => {
      const gate = node(0, 'LlamaMLP[mlp]/Linear[gate_proj]/NNCFUserSelfLinear[self_linear]/linear_0');
      expect(withConfig('first-width.json', nncfGroups([[gate]], [[80, 40]]))).toThrow(
        "group 0 (width): widths start at 80, but 'model.layers.0.mlp.gate_proj' has 88 outputs (the first width must be the pretrained width)",
      );
    });

    it('refuses a rank list that does not start at r', () => {
      const a = node(0, 'LlamaAttention[self_attn]/Linear[q_proj]/ModuleDict[lora_A]/NNCFLinear[default]/linear_0');
      expect(withConfig('first-rank.json', nncfGroups([[a]], [[16, 8]]))).toThrow(
        "group 0 (rank): ranks start at 16, but 'model.layers.0.self_attn.q_proj' has r = 8",
      );
    });

    it('refuses a target module that matches nothing', () => {
      expect(
        withConfig('target.json', (c) => ((c.lonas as Record<string, unknown>).target_modules = ['q_proj', 'qkv'])),
      ).toThrow("target module 'qkv' matches no linear layer of the llama model");
    });

    it('refuses an elastic width nothing follows', () => {
      expect(
        withConfig(
          'no-consumer.json',
          (c) => ((c.lonas as Record<string, unknown>).search_space = [{ width: [1, 0.5], modules: ['o_proj'] }]),
        ),
      ).toThrow(
        "lonas knows no layer whose inputs follow 'model.layers.0.self_attn.o_proj', so its width cannot be elastic",
      );
    });
  });
});

describeWithSharedData('a real PEFT adapter', ['adapters/lora-imdb-distilbert/adapter_model.safetensors'], () => {
  it('reads lora-imdb-distilbert: r 8 q_lin/v_lin adapters and the saved classifier', () => {
    const adapter = readPeftAdapter(sharedData('adapters/lora-imdb-distilbert'));
    expect(adapter.config).toMatchObject({ r: 8, lora_alpha: 16, task_type: 'SEQ_CLS' });
    expect(adapter.lora.size).toBe(12);
    const q = adapter.lora.get('distilbert.transformer.layer.0.attention.q_lin');
    expect(q?.a?.shape).toEqual([8, 768]);
    expect(q?.b?.shape).toEqual([768, 8]);
    expect([...adapter.saved.keys()].sort()).toEqual([
      'classifier.bias',
      'classifier.weight',
      'pre_classifier.bias',
      'pre_classifier.weight',
    ]);
  });
});
