import * as fs from 'fs';
import * as path from 'path';
import { architectureFromConfig } from '../../src/models/registry';
import { parseLenientJson } from '../../src/config/lenient-json';
import { subnetCost } from '../../src/nas/cost';
import { elasticPlanFor, readNasConfig } from '../../src/nas/nas-config';
import { nodeTarget } from '../../src/nas/nncf-config';
import { SearchSpace } from '../../src/nas/search-space';
import { SeededRandom } from '../../src/util/seeded-random';
import { describeWithSharedData, sharedData } from '../support/shared-data';

const root = path.join(__dirname, '..', '..');
const modelConfig = (name: string) =>
  architectureFromConfig(JSON.parse(fs.readFileSync(path.join(root, 'test/fixtures/configs', name), 'utf8')), name);
const plan = (model: string, config: string) => elasticPlanFor(readNasConfig(config), modelConfig(model));
const config = (name: string) => path.join(root, 'configs', name);

describe('SearchSpace', () => {
  const space = new SearchSpace([
    { kind: 'rank', modules: ['a'], widths: [28, 32] },
    { kind: 'width', modules: ['b'], widths: [11008, 9632, 8256, 6880, 5504] },
    { kind: 'rank', modules: ['c'], widths: [8, 4, 2] },
    { kind: 'width', modules: ['d'], widths: [768, 704, 192] },
  ]);

  it('sorts choices descending and picks max, min and the heuristic v[(n-1)//2]', () => {
    expect(space.groups[0].widths).toEqual([32, 28]);
    expect(space.maximal()).toEqual({ 0: 32, 1: 11008, 2: 8, 3: 768 });
    expect(space.minimal()).toEqual({ 0: 28, 1: 5504, 2: 2, 3: 192 });
    expect(space.heuristic()).toEqual({ 0: 32, 1: 8256, 2: 4, 3: 704 });
    expect(space.size()).toBe(2 * 5 * 3 * 3);
  });

  it('limits each group to its first min(N, length) choices under width_indicator N', () => {
    expect(space.choices(1, 2)).toEqual([11008, 9632]);
    expect(space.choices(0, 5)).toEqual([32, 28]);
    expect(space.minimal(1)).toEqual(space.maximal());
    expect(() => space.choices(0, 0)).toThrow('width_indicator must be -1 or a positive integer');
  });

  it('samples every group independently and uniformly, reproducibly from a seed', () => {
    const draw = (seed: number) =>
      Array.from(
        { length: 2000 },
        (
          (r) => () =>
            space.sample(r, 2)
        )(new SeededRandom(seed)),
      );
    const samples = draw(7);
    expect(draw(7)).toEqual(samples);
    const share = samples.filter((s) => s[1] === 11008).length / samples.length;
    expect(share).toBeGreaterThan(0.45);
    expect(share).toBeLessThan(0.55);
    expect(samples.every((s) => [11008, 9632].includes(s[1]))).toBe(true);
  });

  it('refuses a subnet with a width outside its group, a missing group or an unknown one', () => {
    expect(() => space.validate({ 0: 32, 1: 10000, 2: 8, 3: 768 })).toThrow(
      'subnet gives group 1 (width of b, ...) width 10000, not one of its choices [11008,9632,8256,6880,5504]',
    );
    expect(() => space.validate({ 0: 32, 1: 11008, 2: 8 })).toThrow('subnet gives no width for group 3');
    expect(() => space.validate({ ...space.maximal(), 9: 1 })).toThrow('subnet names group 9');
  });
});

describe('lenient JSON', () => {
  it('accepts trailing commas and comments, leaving strings alone', () => {
    expect(parseLenientJson('{"a": [1, 2,], // c\n "b": "x,]/*y*/", /* z */ }', 'f.json')).toEqual({
      a: [1, 2],
      b: 'x,]/*y*/',
    });
    expect(() => parseLenientJson('{"a": }', 'bad.json')).toThrow(/^bad\.json: not valid JSON/);
  });
});

describe('NNCF node names', () => {
  it('map to module paths and LoRA parts', () => {
    const peft =
      'PeftModelForCausalLM/LoraModel[base_model]/LlamaForCausalLM[model]/LlamaModel[model]/ModuleList[layers]';
    expect(
      nodeTarget(
        `${peft}/LlamaDecoderLayer[3]/LlamaMLP[mlp]/Linear[gate_proj]/ModuleDict[lora_A]/NNCFLinear[default]/linear_0`,
      ),
    ).toEqual({
      path: 'model.layers.3.mlp.gate_proj',
      part: 'lora_A',
    });
    expect(
      nodeTarget(`${peft}/LlamaDecoderLayer[0]/LlamaMLP[mlp]/Linear[up_proj]/NNCFUserSelfLinear[self_linear]/linear_0`),
    ).toEqual({
      path: 'model.layers.0.mlp.up_proj',
      part: 'base',
    });
    const bert =
      'PeftModelForSequenceClassification/LoraModel[base_model]/BertForSequenceClassification[model]/BertModel[bert]';
    expect(
      nodeTarget(
        `${bert}/BertEncoder[encoder]/ModuleList[layer]/BertLayer[2]/BertAttention[attention]/BertSelfAttention[self]/NNCFLinear[key]/linear_0`,
      ),
    ).toEqual({
      path: 'bert.encoder.layer.2.attention.self.key',
      part: 'base',
    });
  });
});

describe('shipped configs', () => {
  it('LLaMA-7B commonsense: 96 groups in LoNAS order', () => {
    const { space } = plan('llama-7b.json', config('llama-7b-commonsense.json'));
    expect(space.groups).toHaveLength(96);
    expect(space.groups[0]).toEqual({
      kind: 'rank',
      modules: [
        'model.layers.0.self_attn.q_proj',
        'model.layers.0.self_attn.k_proj',
        'model.layers.0.self_attn.v_proj',
      ],
      widths: [32, 28],
    });
    expect(space.groups[32]).toEqual({
      kind: 'width',
      modules: ['model.layers.0.mlp.gate_proj', 'model.layers.0.mlp.up_proj'],
      widths: [11008, 9632, 8256, 6880, 5504],
    });
    expect(space.groups[95]).toEqual({
      kind: 'rank',
      modules: ['model.layers.31.mlp.gate_proj', 'model.layers.31.mlp.up_proj'],
      widths: [32, 28],
    });
  });

  const sig = (x: number) => Number(x.toPrecision(3));
  it('LLaMA-7B: weights and MACs of max, heuristic and min match the published counts (256 tokens)', () => {
    const p = plan('llama-7b.json', config('llama-7b-commonsense.json'));
    const cost = (subnet: Record<number, number>) => subnetCost(p, subnet, { tokens: 256 });
    expect(
      [cost(p.space.maximal()), cost(p.space.heuristic()), cost(p.space.minimal())].map((c) => [
        sig(c.weights),
        sig(c.macs),
      ]),
    ).toEqual([
      [6.68e9, 1.71e12],
      [5.59e9, 1.43e12],
      [4.49e9, 1.15e12],
    ]);
  });

  it('BLOOMZ-7B1 math: 90 groups; 7.12e9 -> 6.11e9 weights, 1.82e12 -> 1.56e12 MACs', () => {
    const p = plan('bloomz-7b1.json', config('bloomz-7b-math.json'));
    expect(p.space.groups).toHaveLength(90);
    const [max, heuristic] = [p.space.maximal(), p.space.heuristic()].map((s) => subnetCost(p, s, { tokens: 256 }));
    expect([sig(max.weights), sig(heuristic.weights), sig(max.macs), sig(heuristic.macs)]).toEqual([
      7.12e9, 6.11e9, 1.82e12, 1.56e12,
    ]);
  });

  it('BERT-base GLUE: 36 groups; 10.91 G linear MACs at max, 11.21 G with attention products', () => {
    for (const task of ['rte', 'mrpc', 'stsb', 'cola', 'sst2', 'qqp', 'mnli']) {
      const p = plan('bert-base-uncased.json', config(`bert-base-glue-${task}.json`));
      expect(p.space.groups).toHaveLength(36);
      expect(sig(subnetCost(p, p.space.maximal(), { tokens: 128 }).macs)).toBe(1.09e10);
      expect(sig(subnetCost(p, p.space.maximal(), { tokens: 128, attentionMatmuls: true }).macs)).toBe(1.12e10);
    }
  });
});

describeWithSharedData(
  'official LoNAS NNCF configs, read unchanged',
  ['nncf_config/commonsense_nncf_lonas_llama_7b.json'],
  () => {
    it.each([
      ['commonsense_nncf_lonas_llama_7b.json', 'llama-7b.json', 'llama-7b-commonsense.json'],
      ['math_nncf_lonas_bloomz_7b.json', 'bloomz-7b1.json', 'bloomz-7b-math.json'],
      ['glue_nncf_lonas_bert_base_mrpc.json', 'bert-base-uncased.json', 'bert-base-glue-mrpc.json'],
      ['glue_nncf_lonas_bert_base_rte.json', 'bert-base-uncased.json', 'bert-base-glue-rte.json'],
      ['glue_nncf_lonas_bert_base_sst2.json', 'bert-base-uncased.json', 'bert-base-glue-sst2.json'],
    ])('%s gives the same groups as the shipped short form', (official, model, shipped) => {
      const fromNncf = plan(model, sharedData(`nncf_config/${official}`)).space.groups;
      const fromRules = plan(model, config(shipped)).space.groups;
      expect(fromNncf).toEqual(fromRules);
    });
  },
);
