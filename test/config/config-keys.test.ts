import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { searchPlanOf } from '../../actors/experiment/search-plan';
import { readNasConfig } from '../../src/nas/nas-config';
import { lonasCli as cli } from '../support/cli';
import { describeWithSharedData, sharedData } from '../support/shared-data';
import { makeTinyCheckpoints } from '../support/tiny-checkpoints';
import { evenRecords } from '../support/training';

const configs = path.join(__dirname, '..', '..', 'configs');
const tinyLlama = () => JSON.parse(fs.readFileSync(path.join(configs, 'tiny', 'llama.json'), 'utf8'));

describe('config keys', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lonas-keys-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, config: unknown) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(config));
    return file;
  };
  /** The config read and its search plan made, as a run does before loading anything. */
  const plan = (config: unknown) => {
    const file = write('config.json', config);
    searchPlanOf(readNasConfig(file));
  };

  it('every shipped config reads', () => {
    const files = fs.readdirSync(configs).filter((f) => f.endsWith('.json'));
    for (const file of [...files, ...fs.readdirSync(path.join(configs, 'tiny')).map((f) => `tiny/${f}`)]) {
      expect(() => searchPlanOf(readNasConfig(path.join(configs, file)))).not.toThrow();
    }
  });

  it('a misspelt key is an error naming it and the key it was meant to be', () => {
    const config = tinyLlama();
    config.bootstrapNAS.search.num_eval = 12;
    expect(() => plan(config)).toThrow("unknown key 'bootstrapNAS.search.num_eval' (did you mean 'num_evals'?)");
    const lora = tinyLlama();
    lora.lonas.lora_rr = 4;
    expect(() => plan(lora)).toThrow("unknown key 'lonas.lora_rr' (did you mean 'lora_r'?)");
    const stage = tinyLlama();
    stage.bootstrapNAS.training.schedule.list_stage_descriptions[0].sample_rat = 2;
    expect(() => plan(stage)).toThrow(
      "unknown key 'bootstrapNAS.training.schedule.list_stage_descriptions[0].sample_rat' (did you mean 'sample_rate'?)",
    );
    const top = tinyLlama();
    top.lonass = {};
    expect(() => plan(top)).toThrow("unknown key 'lonass' (did you mean 'lonas'?)");
  });

  it('a key close to none says what is known there', () => {
    const config = tinyLlama();
    config.lonas.sampler = { name: 'sandwich', random_subnets: 2, colour: 'red' };
    config.bootstrapNAS.training.elasticity.zzz = 1;
    expect(() => plan(config)).toThrow(
      "unknown key 'bootstrapNAS.training.elasticity.zzz' (known there: available_elasticity_dims, depth, width, kernel, ignored_scopes, target_scopes)",
    );
    delete config.bootstrapNAS.training.elasticity.zzz;
    expect(() => plan(config)).toThrow("unknown key 'lonas.sampler.colour' (known there: name, random_subnets)");
  });

  it("NNCF's keys that lonas does not use, and a plug-in's own settings, are accepted", () => {
    const config = tinyLlama();
    config.target_device = 'CPU';
    config.bootstrapNAS.training.elasticity.width = { filter_importance: 'L1' };
    config.bootstrapNAS.search.batchnorm_adaptation = { num_bn_adaptation_samples: 0 };
    config.bootstrapNAS.search.eval_metric_name = 'acc';
    config.bootstrapNAS.search.algorithm = 'front-mutation';
    config.bootstrapNAS.search.step = 2;
    config.lonas.plugins = [path.join(__dirname, '..', '..', 'examples', 'plugins.ts')];
    expect(() => plan(config)).not.toThrow();
    config.bootstrapNAS.search.stepp = 2;
    expect(() => plan(config)).toThrow("unknown key 'bootstrapNAS.search.stepp' (did you mean 'step'?)");
  });
});

describe('stage settings lonas does not act on', () => {
  const tiny = makeTinyCheckpoints();
  afterAll(() => tiny.remove());

  it('are named when a training run starts, not dropped in silence', async () => {
    const config = tinyLlama();
    Object.assign(config.bootstrapNAS.training.schedule.list_stage_descriptions[0], {
      reorg_weights: true,
      bn_adapt: true,
      epochs: 1,
    });
    const file = path.join(tiny.folder, 'config.json');
    fs.writeFileSync(file, JSON.stringify(config));
    const train = path.join(tiny.folder, 'train.json');
    fs.writeFileSync(train, JSON.stringify(evenRecords(4)));
    const { code, stderr } = await cli([
      'commonsense',
      ...['--model_name_or_path', tiny.path('llama'), '--nncf_config', file, '--dataset_path', train],
      ...['--val_set_size', '0', '--cutoff_len', '32', '--output_dir', path.join(tiny.folder, 'out'), '--do_train'],
      ...['--num_train_epochs', '1', '--per_device_train_batch_size', '4'],
    ]);
    expect(code).toBe(0);
    expect(stderr).toContain(
      `${file}: list_stage_descriptions[0].reorg_weights true: not done (lonas keeps the pretrained channel order)`,
    );
    expect(stderr).toContain(`${file}: list_stage_descriptions[0].bn_adapt true: not done`);
  });
});

describeWithSharedData(
  "LoNAS's official NNCF configs",
  [
    'nncf_config/commonsense_nncf_lonas_llama_7b.json',
    'nncf_config/math_nncf_lonas_bloomz_7b.json',
    'nncf_config/glue_nncf_lonas_bert_base_rte.json',
  ],
  () => {
    it('read unchanged, every key known', () => {
      for (const file of fs.readdirSync(sharedData('nncf_config')).filter((f) => f.endsWith('.json'))) {
        expect(() => searchPlanOf(readNasConfig(sharedData(`nncf_config/${file}`)))).not.toThrow();
      }
    });
  },
);
