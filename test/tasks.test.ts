import * as fs from 'fs';
import * as path from 'path';
import { describeWithSharedData, sharedData } from './support/shared-data';
import { makeTinyCheckpoints } from './support/tiny-checkpoints';
import { lonasCli as cli } from './support/cli';

const configs = path.join(__dirname, '..', 'configs');

/** A small search config for quick runs: the tiny config with 8 evaluations of 4. */
function quickConfig(folder: string, base: string): string {
  const config = JSON.parse(fs.readFileSync(base, 'utf8'));
  config.bootstrapNAS.search = { algorithm: 'NSGA2', num_evals: 8, population: 4, ref_acc: 0.3, acc_delta: 0.01 };
  config.bootstrapNAS.training.schedule.list_stage_descriptions[0].epochs = 1;
  const file = path.join(folder, `quick-${path.basename(base)}`);
  fs.writeFileSync(file, JSON.stringify(config));
  return file;
}

const SEARCH_OUTPUTS = [
  'search_progression.csv',
  'cache_MACs.csv',
  'cache_top1_acc.csv',
  'search_progression.png',
  'best_subnet.json',
  'search_summary.json',
];

describe('lonas commonsense, math and glue on generated data', () => {
  const tiny = makeTinyCheckpoints();
  afterAll(() => tiny.remove());
  const data = path.join(tiny.folder, 'datasets');
  const write = (file: string, value: unknown) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
    return file;
  };
  const boolq = Array.from({ length: 12 }, (_, i) => ({
    instruction: `is the cat on the mat ${i}? Answer format: true/false`,
    input: '',
    output: `the correct answer is ${i % 2 === 0 ? 'true' : 'false'}`,
    answer: i % 2 === 0 ? 'true' : 'false',
  }));
  write(path.join(data, 'boolq', 'test.json'), boolq.slice(0, 3));
  const train = write(path.join(tiny.folder, 'commonsense_train.json'), boolq);

  it('commonsense: trains, tests the heuristic subnet and searches, writing every output', async () => {
    const out = path.join(tiny.folder, 'commonsense');
    const args = [
      'commonsense',
      '--model_name_or_path',
      tiny.path('llama'),
      '--nncf_config',
      quickConfig(tiny.folder, path.join(configs, 'tiny', 'llama.json')),
      '--dataset_path',
      train,
      '--val_set_size',
      '4',
      '--cutoff_len',
      '96',
      '--datasets_dir',
      data,
      '--test_datasets',
      'boolq',
      '--output_dir',
      out,
      '--do_train',
      '--do_test',
      '--do_search',
      '--num_beams',
      '2',
      '--max_new_tokens',
      '4',
      '--warmup_steps',
      '100',
    ];
    const { code, stderr } = await cli(args);
    expect(stderr).toContain('accepted and ignored: --warmup_steps (the stage schedule has no warm-up)');
    expect(code).toBe(0);
    for (const file of [
      'adapter_model.safetensors',
      'adapter_config.json',
      'heuristic.boolq.res.json',
      'test_results.json',
      ...SEARCH_OUTPUTS,
    ]) {
      expect(fs.existsSync(path.join(out, file))).toBe(true);
    }
    const results = JSON.parse(fs.readFileSync(path.join(out, 'test_results.json'), 'utf8'));
    expect(Object.keys(results)).toEqual([
      'Heuristic_macs',
      'Heuristic_weights',
      'Heuristic_boolq_accuracy',
      'Heuristic_avg_accuracy',
    ]);
    expect(fs.readFileSync(path.join(out, 'search_progression.csv'), 'utf8').trim().split('\n')).toHaveLength(8);
    expect(stderr).toMatch(/Pareto front \(\d+ subnets\):\n +MMACs +of max +accuracy\n/);
    // Trained again (another seed) into the same folder: the search's caches of the old adapter are not reused.
    const again = await cli([...args, '--seed', '1', '--overwrite_output_dir']);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(
      'discarded cache_MACs.csv, cache_top1_acc.csv came from a search with another adapter',
    );
  });

  it('math: tests with the last-number rule', async () => {
    const gsm = [{ instruction: 'What is 2 plus 3?', input: '', output: 'The answer is 5', answer: '5' }];
    write(path.join(data, 'gsm8k', 'test.json'), gsm);
    const out = path.join(tiny.folder, 'math');
    const { code } = await cli([
      'math',
      '--model_name_or_path',
      tiny.path('bloom'),
      '--nncf_config',
      quickConfig(tiny.folder, path.join(configs, 'tiny', 'bloom.json')),
      '--datasets_dir',
      data,
      '--test_datasets',
      'gsm8k',
      '--output_dir',
      out,
      '--do_test',
      '--num_beams',
      '1',
      '--max_new_tokens',
      '4',
    ]);
    expect(code).toBe(0);
    const [sample] = JSON.parse(fs.readFileSync(path.join(out, 'heuristic.gsm8k.res.json'), 'utf8'));
    expect(sample).toMatchObject({ answer: '5', flag: false });
    expect(Object.keys(JSON.parse(fs.readFileSync(path.join(out, 'test_results.json'), 'utf8')))).toContain(
      'heuristic_gsm8k_accuracy',
    );
  });

  it('glue: trains a tiny BERT on RTE-format data, evaluates each epoch, tests and searches', async () => {
    const rows = Array.from(
      { length: 16 },
      (_, i) => `${i}\tthe cat sat\t${i % 2 ? 'a dog ran' : 'the cat sat'}\t${i % 2 ? 'not_entailment' : 'entailment'}`,
    );
    const folder = path.join(tiny.folder, 'RTE');
    write(path.join(folder, 'train.tsv'), `index\tsentence1\tsentence2\tlabel\n${rows.join('\n')}\n`);
    write(path.join(folder, 'dev.tsv'), `index\tsentence1\tsentence2\tlabel\n${rows.slice(0, 6).join('\n')}\n`);
    const out = path.join(tiny.folder, 'glue');
    const { code, stderr } = await cli([
      'glue',
      '--model_name_or_path',
      tiny.path('bert'),
      '--nncf_config',
      quickConfig(tiny.folder, path.join(configs, 'tiny', 'bert.json')),
      '--task_name',
      'rte',
      '--dataset_path',
      folder,
      '--output_dir',
      out,
      '--do_train',
      '--do_eval',
      '--do_test',
      '--do_search',
      '--evaluation_strategy',
      'epoch',
      '--num_train_epochs',
      '2',
      '--weight_decay',
      '0.1',
      '--max_seq_length',
      '16',
    ]);
    expect(stderr).not.toContain('Error');
    expect(code).toBe(0);
    const results = JSON.parse(fs.readFileSync(path.join(out, 'eval_results.json'), 'utf8'));
    expect(results.heuristic_accuracy).toBeGreaterThanOrEqual(0);
    // The patched Trainer's evaluate(): the super-network and the minimum subnet, after each epoch and at the end.
    for (const key of ['eval_accuracy_super', 'eval_accuracy_minimum']) {
      expect(results[key]).toBeGreaterThanOrEqual(0);
      expect(results[key]).toBeLessThanOrEqual(1);
    }
    const history = JSON.parse(fs.readFileSync(path.join(out, 'eval_history.json'), 'utf8'));
    expect(history.map((h: { epoch: number }) => h.epoch)).toEqual([1, 2]);
    expect(history[1].eval_accuracy_super).toBe(results.eval_accuracy_super);
    const evaluations = fs
      .readFileSync(path.join(out, 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .filter((e) => e.type === 'eval.result');
    expect(evaluations.map((e) => `${e.role}${e.epoch ?? ''}`)).toEqual([
      'minimum1',
      'super1',
      'minimum2',
      'super2',
      'minimum',
      'super',
      'heuristic',
      'val_maximal',
      'val_heuristic',
    ]);
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'search_summary.json'), 'utf8'));
    expect(summary.val_maximal_accuracy).toBe(results.eval_accuracy_super);
    for (const file of ['adapter_model.safetensors', ...SEARCH_OUTPUTS])
      expect(fs.existsSync(path.join(out, file))).toBe(true);
    // The 3-label tiny BERT's classifier was re-initialised for RTE's 2 labels, and saved with the adapter.
    expect(JSON.parse(fs.readFileSync(path.join(out, 'adapter_config.json'), 'utf8')).modules_to_save).toEqual([
      'classifier',
    ]);
  });

  it('glue: tests MNLI on its matched and mismatched validation sets, and searches on the mismatched one', async () => {
    const folder = path.join(tiny.folder, 'MNLI');
    const header = 'index\tgenre\tsentence1\tsentence2\tgold_label';
    const rows = ['entailment', 'neutral', 'contradiction', 'neutral', 'entailment'].map(
      (label, i) => `${i}\tfiction\tthe cat sat\ta dog ran\t${label}`,
    );
    write(path.join(folder, 'dev_matched.tsv'), `${header}\n${rows.slice(0, 3).join('\n')}\n`);
    write(path.join(folder, 'dev_mismatched.tsv'), `${header}\n${rows.join('\n')}\n`);
    const out = path.join(tiny.folder, 'mnli');
    const { code } = await cli([
      'glue',
      '--model_name_or_path',
      tiny.path('bert'),
      '--nncf_config',
      path.join(configs, 'tiny', 'bert.json'),
      '--task_name',
      'mnli',
      '--dataset_path',
      folder,
      '--output_dir',
      out,
      '--do_test',
    ]);
    expect(code).toBe(0);
    const results = JSON.parse(fs.readFileSync(path.join(out, 'eval_results.json'), 'utf8'));
    expect(Object.keys(results)).toEqual([
      'heuristic_macs',
      'heuristic_weights',
      'heuristic_accuracy',
      'heuristic_accuracy_mm',
    ]);

    // As the official run_glue.py: the search scores MNLI's validation_mismatched (5 examples here, matched has 3).
    const searched = path.join(tiny.folder, 'mnli-search');
    const search = await cli([
      'glue',
      ...['--model_name_or_path', tiny.path('bert'), '--nncf_config', path.join(configs, 'tiny', 'bert.json')],
      ...['--task_name', 'mnli', '--dataset_path', folder, '--output_dir', searched, '--do_search'],
    ]);
    expect(search.code).toBe(0);
    const scored = fs
      .readFileSync(path.join(searched, 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .filter((e) => e.type === 'eval.progress' || e.type === 'eval.result');
    expect(scored.length).toBeGreaterThan(0);
    for (const event of scored) expect(event.examples ?? event.total).toBe(5);
  });

  it('swaps the search strategy by config alone', async () => {
    const config = JSON.parse(
      fs.readFileSync(quickConfig(tiny.folder, path.join(configs, 'tiny', 'llama.json')), 'utf8'),
    );
    config.bootstrapNAS.search.algorithm = 'random';
    const file = write(path.join(tiny.folder, 'random.json'), config);
    const out = path.join(tiny.folder, 'random-search');
    const base = [
      'commonsense',
      '--model_name_or_path',
      tiny.path('llama'),
      '--nncf_config',
      file,
      '--dataset_path',
      train,
    ];
    const { code } = await cli([
      ...base,
      '--val_set_size',
      '4',
      '--output_dir',
      out,
      '--do_search',
      '--num_beams',
      '1',
      '--max_new_tokens',
      '2',
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'search_summary.json'), 'utf8')).algorithm).toBe('random');
  });

  it('refuses to run with nothing to do, and names a missing test set', async () => {
    const base = [
      'commonsense',
      '--model_name_or_path',
      tiny.path('llama'),
      '--nncf_config',
      path.join(configs, 'tiny', 'llama.json'),
      '--output_dir',
      path.join(tiny.folder, 'x'),
    ];
    expect((await cli(base)).stderr).toContain('nothing to do: give --do_train, --do_test and/or --do_search');
    const missing = await cli([...base, '--do_test', '--datasets_dir', data, '--test_datasets', 'piqa']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(`--test_datasets: no 'piqa' (expected ${path.join(data, 'piqa', 'test.json')})`);
  });
});

describeWithSharedData(
  'lonas on the real material',
  [
    'models/stories260K/stories260K.bin',
    'llm-adapters/dataset/boolq/train.json',
    'llm-adapters/dataset/gsm8k/test.json',
    'glue/RTE/train.tsv',
  ],
  () => {
    const tiny = makeTinyCheckpoints();
    afterAll(() => tiny.remove());
    const stories = [
      '--model_name_or_path',
      sharedData('models/stories260K/stories260K.bin'),
      '--tokenizer',
      sharedData('models/stories260K/tok512.bin'),
    ];
    const quick = ['--num_beams', '1', '--max_new_tokens', '4', '--max_test_samples', '2'];

    it('commonsense on stories260K with boolq', async () => {
      const out = path.join(tiny.folder, 'stories-boolq');
      const config = quickConfig(tiny.folder, path.join(configs, 'stories260k-commonsense.json'));
      const { code } = await cli([
        'commonsense',
        ...stories,
        '--nncf_config',
        config,
        '--dataset_path',
        sharedData('llm-adapters/dataset/boolq/train.json'),
        '--max_train_samples',
        '20',
        '--val_set_size',
        '4',
        '--datasets_dir',
        sharedData('llm-adapters/dataset'),
        '--test_datasets',
        'boolq',
        '--output_dir',
        out,
        '--do_train',
        '--do_test',
        '--do_search',
        ...quick,
      ]);
      expect(code).toBe(0);
      for (const file of [
        'adapter_model.safetensors',
        'heuristic.boolq.res.json',
        'test_results.json',
        ...SEARCH_OUTPUTS,
      ]) {
        expect(fs.existsSync(path.join(out, file))).toBe(true);
      }
    });

    it('math on stories260K with gsm8k', async () => {
      const out = path.join(tiny.folder, 'stories-gsm8k');
      const { code } = await cli([
        'math',
        ...stories,
        '--nncf_config',
        quickConfig(tiny.folder, path.join(configs, 'stories260k-commonsense.json')),
        '--dataset_path',
        sharedData('llm-adapters/ft-training_set/math_data.json'),
        '--max_train_samples',
        '16',
        '--val_set_size',
        '4',
        '--datasets_dir',
        sharedData('llm-adapters/dataset'),
        '--test_datasets',
        'gsm8k',
        '--output_dir',
        out,
        '--do_train',
        '--do_test',
        '--do_search',
        ...quick,
      ]);
      expect(code).toBe(0);
      expect(fs.existsSync(path.join(out, 'heuristic.gsm8k.res.json'))).toBe(true);
    });

    it('glue on a tiny BERT with RTE', async () => {
      const out = path.join(tiny.folder, 'rte');
      const { code } = await cli([
        'glue',
        '--model_name_or_path',
        tiny.path('bert'),
        '--nncf_config',
        quickConfig(tiny.folder, path.join(configs, 'tiny', 'bert.json')),
        '--task_name',
        'rte',
        '--dataset_path',
        sharedData('glue/RTE'),
        '--max_train_samples',
        '32',
        '--max_test_samples',
        '16',
        '--max_seq_length',
        '32',
        '--output_dir',
        out,
        '--do_train',
        '--do_test',
        '--do_search',
      ]);
      expect(code).toBe(0);
      expect(fs.existsSync(path.join(out, 'search_progression.png'))).toBe(true);
    });
  },
);
