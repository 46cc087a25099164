import * as fs from 'fs';
import * as path from 'path';
import { parseLenientJson } from '../../src/config/lenient-json';
import { architectureFromConfig } from '../../src/models/registry';
import { subnetCost } from '../../src/nas/cost';
import { elasticPlanFor, readNasConfig, type NasConfig } from '../../src/nas/nas-config';
import { tracedTokens } from '../../src/nas/nncf-config';
import { describeWithSharedData, sharedData } from '../support/shared-data';

/**
 * The shipped configs that have an official LoNAS counterpart (IntelLabs/Hardware-Aware-
 * Automated-Machine-Learning, LoNAS/nncf_config/) must say what the official file says: same
 * NNCF keys, same search space, hence the same NNCF MACs. lonas writes the search space in its
 * short form (lonas.search_space) where the official files list overwrite_groups.
 */

const root = path.join(__dirname, '..', '..');
const shipped = (name: string) => path.join(root, 'configs', name);
const architecture = (model: string) =>
  architectureFromConfig(JSON.parse(fs.readFileSync(path.join(root, 'test/fixtures/configs', model), 'utf8')), model);

type Json = Record<string, unknown>;
const readJson = (file: string) => parseLenientJson(fs.readFileSync(file, 'utf8'), file) as Json;

/** The NNCF keys of a config, less the search space (compared as expanded groups instead). */
function nncfPart(json: Json): Json {
  const copy = structuredClone(json);
  delete copy.lonas;
  const training = (copy.bootstrapNAS as Json | undefined)?.training as Json | undefined;
  const elasticity = training?.elasticity as Json | undefined;
  const width = elasticity?.width as Json | undefined;
  if (elasticity !== undefined && width !== undefined) {
    for (const key of ['overwrite_groups', 'overwrite_groups_widths', 'add_dynamic_inputs']) delete width[key];
    if (Object.keys(width).length === 0) delete elasticity.width;
  }
  return copy;
}

/** max, min and heuristic subnet weights and MACs at the config's own input_info length. */
function costs(config: NasConfig, model: string) {
  const plan = elasticPlanFor(config, architecture(model));
  const tokens = tracedTokens(config.nncf) ?? 256;
  const { space } = plan;
  return {
    groups: space.groups,
    tokens,
    costs: [space.maximal(), space.minimal(), space.heuristic()].map((s) => subnetCost(plan, s, { tokens })),
  };
}

// ---- (b) the official values, verified against LoNAS @ fc29bc78 (nncf_config/ and running_commands) ----

const bertModel = 'bert-base-uncased.json';
const glueInput = (tokens: number) =>
  ['input_ids', 'token_type_ids', 'attention_mask'].map((keyword) => ({
    sample_size: [1, tokens],
    type: 'long',
    keyword,
  }));
const llmInput = ['input_ids', 'attention_mask'].map((keyword) => ({ sample_size: [1, 256], type: 'long', keyword }));

function bootstrapNAS(stage: { epochs: number; widthIndicator: number; initLr: number }, glue: boolean) {
  const batchnorm = { num_bn_adaptation_samples: 0 };
  return {
    training: {
      algorithm: 'progressive_shrinking',
      frozen_layers_allowed: true,
      progressivity_of_elasticity: ['width'],
      batchnorm_adaptation: batchnorm,
      schedule: {
        list_stage_descriptions: [
          {
            train_dims: ['width'],
            epochs: stage.epochs,
            depth_indicator: 1,
            width_indicator: stage.widthIndicator,
            init_lr: stage.initLr,
            epochs_lr: stage.epochs,
            sample_rate: 1,
          },
        ],
      },
      elasticity: { available_elasticity_dims: ['width'] },
      ...(glue ? { sandwich_rule: false } : {}),
    },
    search: glue
      ? {
          algorithm: 'NSGA2',
          batchnorm_adaptation: batchnorm,
          num_evals: 1000,
          population: 40,
          ref_acc: 0.85,
          acc_delta: 0.01,
        }
      : {
          algorithm: 'NSGA2',
          batchnorm_adaptation: batchnorm,
          num_evals: 200,
          population: 8,
          ref_acc: 0.45,
          acc_delta: 0.01,
        },
  };
}

const bertCosts = [
  { weights: 85820928, macs: 10909976064 },
  { weights: 19913472, macs: 2473821696 },
  { weights: 75559936, macs: 9596569088 },
];
const bertLora = (dropout: number) => ({
  target_modules: ['query', 'value'],
  lora_r: 8,
  lora_alpha: 16,
  lora_dropout: dropout,
  modules_to_save: ['classifier'],
});
interface Expected {
  model: string;
  nncf: unknown;
  lora: Json;
  groups: number;
  costs: Array<{ weights: number; macs: number }>;
}

const glue = (epochs: number, initLr: number, dropout = 0.1): Expected => ({
  model: bertModel,
  nncf: { input_info: glueInput(128), bootstrapNAS: bootstrapNAS({ epochs, widthIndicator: 4, initLr }, true) },
  lora: bertLora(dropout),
  groups: 36,
  costs: bertCosts,
});

const official: Record<string, Expected> = {
  'bert-base-glue-cola.json': glue(80, 3e-4, 0.05),
  'bert-base-glue-mnli.json': glue(40, 4e-4),
  'bert-base-glue-mrpc.json': glue(35, 5e-4),
  'bert-base-glue-qnli.json': glue(80, 4e-4), // input_info [1, 128] (LoNAS trains qnli with --max_seq_length 256)
  'bert-base-glue-qqp.json': glue(60, 3e-4),
  'bert-base-glue-rte.json': glue(80, 3e-4),
  'bert-base-glue-sst2.json': glue(60, 3e-4),
  'bert-base-glue-stsb.json': glue(60, 5e-4),
  'llama-7b-commonsense.json': {
    model: 'llama-7b.json',
    nncf: { input_info: llmInput, bootstrapNAS: bootstrapNAS({ epochs: 6, widthIndicator: 5, initLr: 3e-4 }, false) },
    lora: {
      target_modules: ['q_proj', 'k_proj', 'v_proj', 'up_proj', 'gate_proj', 'down_proj'],
      lora_r: 32,
      lora_alpha: 64,
      lora_dropout: 0.1,
    },
    groups: 96,
    costs: [
      { weights: 6678642688, macs: 1709732528128 },
      { weights: 4491870208, macs: 1149918773248 },
      { weights: 5588058112, macs: 1430542876672 },
    ],
  },
  'bloomz-7b-math.json': {
    model: 'bloomz-7b1.json',
    nncf: (() => {
      const nas = bootstrapNAS({ epochs: 8, widthIndicator: 5, initLr: 3e-4 }, false);
      return {
        input_info: llmInput,
        bootstrapNAS: { ...nas, search: { ...nas.search, eval_metric_name: 'eval_accuracy' } },
      };
    })(),
    lora: {
      target_modules: ['query_key_value', 'dense_h_to_4h', 'dense_4h_to_h'],
      lora_r: 32,
      lora_alpha: 64,
      lora_dropout: 0.1,
    },
    groups: 90,
    costs: [
      { weights: 7122452480, macs: 1823347834880 },
      { weights: 5090017280, macs: 1303044423680 },
      { weights: 6107955200, macs: 1563636531200 },
    ],
  },
};

describe('shipped configs carry the official LoNAS values', () => {
  it('every shipped BERT-base GLUE, LLaMA-7B and BLOOMZ-7B config is in the table', () => {
    const counterparts = fs
      .readdirSync(path.join(root, 'configs'))
      .filter((name) => /^(bert-base-glue-|llama-7b-|bloomz-7b-)/.test(name));
    expect(counterparts.sort()).toEqual(Object.keys(official).sort());
  });

  it.each(Object.keys(official))('%s: NNCF keys, LoRA settings, groups and costs', (name) => {
    const expected = official[name];
    const json = readJson(shipped(name));
    expect(nncfPart(json)).toEqual(expected.nncf);
    const lora = { ...(json.lonas as Json) };
    delete lora.search_space;
    expect(lora).toEqual(expected.lora);
    const got = costs(readNasConfig(shipped(name)), expected.model);
    expect(got.groups).toHaveLength(expected.groups);
    expect(got.costs).toEqual(expected.costs);
  });
});

// ---- (a) against the official files themselves, where ../shared/data has them ----

const pairs: Array<[string, string, string]> = [
  ['commonsense_nncf_lonas_llama_7b.json', 'llama-7b.json', 'llama-7b-commonsense.json'],
  ['math_nncf_lonas_bloomz_7b.json', 'bloomz-7b1.json', 'bloomz-7b-math.json'],
  ['glue_nncf_lonas_bert_base_mrpc.json', bertModel, 'bert-base-glue-mrpc.json'],
  ['glue_nncf_lonas_bert_base_rte.json', bertModel, 'bert-base-glue-rte.json'],
  ['glue_nncf_lonas_bert_base_sst2.json', bertModel, 'bert-base-glue-sst2.json'],
];

describeWithSharedData(
  'shipped configs equal the official LoNAS NNCF configs',
  pairs.map(([file]) => `nncf_config/${file}`),
  () => {
    it.each(pairs)('%s: same NNCF keys, groups, and max/min/heuristic costs', (file, model, name) => {
      const officialFile = sharedData(`nncf_config/${file}`);
      expect(nncfPart(readJson(shipped(name)))).toEqual(nncfPart(readJson(officialFile)));
      expect(costs(readNasConfig(shipped(name)), model)).toEqual(costs(readNasConfig(officialFile), model));
    });

    it.each(pairs)('%s: the offline table above holds the same values', (file, _model, name) => {
      expect(nncfPart(readJson(sharedData(`nncf_config/${file}`)))).toEqual(official[name].nncf);
    });
  },
);
