import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { runExperiment } from '../actors/experiment/run-experiment';
import { experimentConfig } from '../actors/experiment/experiment-config';
import type { LonasEvent } from '../src/events';
import { makeTinyCheckpoints } from './support/tiny-checkpoints';
import { evenRecords } from './support/training';

const lonas = path.join(__dirname, '..', 'bin', 'lonas.js');
const configs = path.join(__dirname, '..', 'configs');

/** Runs `lonas` with --events; `onEvent` may act on each event (e.g. send a signal). */
function lonasRun(
  args: string[],
  onEvent: (event: LonasEvent, kill: (signal: NodeJS.Signals) => void) => void = () => {},
): Promise<{ code: number | null; stderr: string; events: LonasEvent[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [lonas, ...args, '--events'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const events: LonasEvent[] = [];
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const lines = stdout.split('\n');
      stdout = lines.pop() as string;
      for (const line of lines) {
        const event = JSON.parse(line) as LonasEvent;
        events.push(event);
        onEvent(event, (signal) => child.kill(signal));
      }
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr, events }));
  });
}

describe('stopping an experiment', () => {
  const tiny = makeTinyCheckpoints();
  afterAll(() => tiny.remove());
  const records = evenRecords(16);
  const train = path.join(tiny.folder, 'train.json');
  fs.writeFileSync(train, JSON.stringify(records));
  fs.mkdirSync(path.join(tiny.folder, 'datasets', 'boolq'), { recursive: true });
  fs.writeFileSync(path.join(tiny.folder, 'datasets', 'boolq', 'test.json'), JSON.stringify(records.slice(0, 3)));
  const config = JSON.parse(fs.readFileSync(path.join(configs, 'tiny', 'llama.json'), 'utf8'));
  config.bootstrapNAS.search = { algorithm: 'NSGA2', num_evals: 8, population: 4, ref_acc: 0.3, acc_delta: 0.01 };
  const nncf = path.join(tiny.folder, 'config.json');
  fs.writeFileSync(nncf, JSON.stringify(config));
  const commonsense = (out: string) => [
    'commonsense',
    ...['--model_name_or_path', tiny.path('llama'), '--nncf_config', nncf, '--dataset_path', train],
    ...['--val_set_size', '4', '--cutoff_len', '64', '--datasets_dir', path.join(tiny.folder, 'datasets')],
    ...['--test_datasets', 'boolq', '--output_dir', out, '--do_train', '--do_test', '--do_search'],
    ...['--num_train_epochs', '2', '--per_device_train_batch_size', '2', '--seed', '0'],
    ...['--num_beams', '1', '--max_new_tokens', '4'],
  ];
  const testAndSearchOutputs = [
    'test_results.json',
    'heuristic.boolq.res.json',
    'cache_top1_acc.csv',
    'search_summary.json',
  ];
  const read = (out: string, file: string) => fs.readFileSync(path.join(out, file), 'utf8');

  it('SIGINT mid-training: exit 130, a checkpoint, no test or search; --resume ends as an uninterrupted run', async () => {
    const whole = path.join(tiny.folder, 'whole');
    expect((await lonasRun(commonsense(whole))).code).toBe(0);

    const stopped = path.join(tiny.folder, 'stopped');
    let sent = false;
    const interrupted = await lonasRun(commonsense(stopped), (event, kill) => {
      if (!sent && event.type === 'train.step' && event.globalStep === 3) {
        sent = true;
        kill('SIGINT');
      }
    });
    expect(interrupted.code).toBe(130);
    expect(interrupted.stderr).toContain('stopped by SIGINT');
    expect(interrupted.events.filter((e) => e.type === 'train.checkpoint').at(-1)).toMatchObject({ reason: 'signal' });
    expect(interrupted.events.some((e) => e.type.startsWith('search.'))).toBe(false);
    for (const file of testAndSearchOutputs) expect(fs.existsSync(path.join(stopped, file))).toBe(false);

    const resumed = await lonasRun([...commonsense(stopped), '--resume']);
    expect(resumed.code).toBe(0);
    expect(read(stopped, 'adapter_model.safetensors')).toEqual(read(whole, 'adapter_model.safetensors'));
    for (const file of ['test_results.json', 'search_progression.csv', 'best_subnet.json']) {
      expect(read(stopped, file)).toEqual(read(whole, file));
    }
  });

  it('SIGINT during the test phase: exit 130 between batches, nothing after the test', async () => {
    const out = path.join(tiny.folder, 'stopped-in-test');
    let sent = false;
    const run = await lonasRun([...commonsense(out), '--per_device_eval_batch_size', '1'], (event, kill) => {
      if (!sent && event.type === 'eval.progress' && event.role === 'test') {
        sent = true;
        kill('SIGINT');
      }
    });
    expect(run.code).toBe(130);
    expect(run.events.filter((e) => e.type === 'eval.progress').length).toBeLessThan(3);
    expect(run.events.some((e) => e.type.startsWith('search.'))).toBe(false);
    for (const file of ['test_results.json', 'search_summary.json'])
      expect(fs.existsSync(path.join(out, file))).toBe(false);
  });

  it('stop() mid-training through runExperiment: interrupted, with nothing after training', async () => {
    const out = path.join(tiny.folder, 'scripted');
    const experiment = experimentConfig({
      task: {
        kind: 'commonsense',
        datasetPath: train,
        valSetSize: 4,
        datasetsDir: path.join(tiny.folder, 'datasets'),
        testDatasets: ['boolq'],
        cutoffLen: 64,
        numBeams: 1,
        maxNewTokens: 4,
      },
      model: tiny.path('llama'),
      nncfConfig: nncf,
      outputDir: out,
      training: { batchSize: 2, epochs: 2, seed: 0, optim: 'adamw_torch' },
      evalBatchSize: 4,
    });
    const run = runExperiment(experiment);
    const seen: string[] = [];
    run.events$.subscribe((event) => {
      seen.push(event.type);
      if (event.type === 'train.step' && event.globalStep === 2) run.stop();
    });
    const outcome = await run.result;
    expect(outcome.status).toBe('interrupted');
    expect(outcome.results.train).toMatchObject({ interrupted: true });
    expect(outcome.results.test).toBeUndefined();
    expect(outcome.results.search).toBeUndefined();
    expect(seen.filter((type) => type === 'train.step')).toHaveLength(2);
    expect(seen.some((type) => type.startsWith('search.') || type === 'eval.result')).toBe(false);
    for (const file of testAndSearchOutputs) expect(fs.existsSync(path.join(out, file))).toBe(false);
  });

  it('refuses invalid search and sampler settings in seconds, before any model loads', async () => {
    const bad = JSON.parse(JSON.stringify(config));
    bad.bootstrapNAS.search.algorithm = 'CMA-ES';
    const file = path.join(tiny.folder, 'bad.json');
    fs.writeFileSync(file, JSON.stringify(bad));
    const args = commonsense(path.join(tiny.folder, 'bad')).map((a) => (a === nncf ? file : a));
    const unknownAlgorithm = await lonasRun(args);
    expect(unknownAlgorithm.code).toBe(1);
    expect(unknownAlgorithm.stderr).toContain("bootstrapNAS.search.algorithm 'CMA-ES' is not a search algorithm");
    expect(unknownAlgorithm.stderr).not.toContain('lonas: backend');
    bad.bootstrapNAS.search = { algorithm: 'NSGA2', num_evals: 8, population: 0 };
    bad.lonas.sampler = { name: 'sandwich' };
    fs.writeFileSync(file, JSON.stringify(bad));
    expect((await lonasRun(args)).stderr).toContain('bootstrapNAS.search.population must be an integer between 1');
    bad.bootstrapNAS.search.population = 4;
    bad.lonas.sampler = { name: 'greedy' };
    fs.writeFileSync(file, JSON.stringify(bad));
    expect((await lonasRun(args)).stderr).toContain("lonas.sampler.name 'greedy' is not a sampler");
    // A plug-in's settings are checked by its own codec, naming the plug-in and the field.
    const plugins = path.join(__dirname, '..', 'dist', 'examples', 'plugins.js');
    bad.lonas.sampler = { name: 'hardest-again', repeat_probability: 'often' };
    fs.writeFileSync(file, JSON.stringify(bad));
    const badSettings = await lonasRun([...args, '--plugin', plugins]);
    expect(badSettings.code).toBe(1);
    expect(badSettings.stderr).toContain(
      `sampler 'hardest-again' settings: 'repeat_probability' must be number, got "often"`,
    );
    expect(badSettings.stderr).not.toContain('lonas: backend');
    const missing = await lonasRun([...args, '--plugin', path.join(tiny.folder, 'nowhere.js')]);
    expect(missing.stderr).toContain(`plug-in ${path.join(tiny.folder, 'nowhere.js')}: cannot load it`);
  });
});
