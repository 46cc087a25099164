import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { from, lastValueFrom, take, toArray } from 'rxjs';
import { promisify } from 'util';
import { runExperiment } from '../../actors/experiment/run-experiment';
import { workerPool } from '../../actors/evaluators/worker-pool';
import type { LonasEvent } from '../../src/events';
import {
  evaluatorConfigOf,
  experimentConfig,
  type ExperimentSettings,
} from '../../actors/experiment/experiment-config';
import type { TaskConfig } from '../../src/tasks/task-config';
import { openCheckpoint } from '../../src/models/checkpoint';
import { architectureFromConfig } from '../../src/models/registry';
import { readNasConfig, searchSpaceFor } from '../../src/nas/nas-config';
import { makeTinyCheckpoints } from '../support/tiny-checkpoints';
import { evenRecords } from '../support/training';

const run = promisify(execFile);
const root = path.join(__dirname, '..', '..');
const lonas = path.join(root, 'bin', 'lonas.js');

async function cli(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await run(process.execPath, [lonas, ...args], { maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stderr };
  } catch (error) {
    const failed = error as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr };
  }
}

const read = (out: string, file: string) => fs.readFileSync(path.join(out, file), 'utf8');
const rows = (out: string, file: string) => new Set(read(out, file).trim().split('\n'));
const json = (out: string, file: string) => JSON.parse(read(out, file));

/** What a search run with N evaluators must share with the serial one. */
function expectSameSearch(serial: string, parallel: string): void {
  for (const file of ['search_progression.csv', 'cache_MACs.csv', 'cache_top1_acc.csv']) {
    expect(rows(parallel, file)).toEqual(rows(serial, file));
  }
  const [a, b] = [json(serial, 'search_summary.json'), json(parallel, 'search_summary.json')];
  expect(b.pareto_front).toEqual(a.pareto_front);
  expect(b.best).toEqual(a.best);
  expect(b.evaluated).toEqual(a.evaluated);
  expect(json(parallel, 'best_subnet.json')).toEqual(json(serial, 'best_subnet.json'));
}

describe('--eval_workers: the search on several evaluator workers', () => {
  const tiny = makeTinyCheckpoints();
  afterAll(() => tiny.remove());
  const records = evenRecords(16);
  const train = path.join(tiny.folder, 'train.json');
  fs.writeFileSync(train, JSON.stringify(records));
  const config = JSON.parse(fs.readFileSync(path.join(root, 'configs', 'tiny', 'llama.json'), 'utf8'));
  config.bootstrapNAS.search = { algorithm: 'NSGA2', num_evals: 12, population: 4, ref_acc: 0.3, acc_delta: 0.01 };
  config.bootstrapNAS.training.schedule.list_stage_descriptions[0].epochs = 1;
  const nncf = path.join(tiny.folder, 'config.json');
  fs.writeFileSync(nncf, JSON.stringify(config));
  const adapter = path.join(tiny.folder, 'trained');
  const experiment = (outputDir: string, changes: Partial<ExperimentSettings> = {}): ExperimentSettings => ({
    task: {
      kind: 'commonsense',
      datasetPath: train,
      valSetSize: 6,
      datasetsDir: path.join(tiny.folder, 'datasets'),
      cutoffLen: 64,
      numBeams: 1,
      maxNewTokens: 4,
    },
    model: tiny.path('llama'),
    nncfConfig: nncf,
    outputDir,
    phases: { train: false, test: false, search: true },
    loraWeights: adapter,
    training: { batchSize: 4, epochs: 1, seed: 0, optim: 'adamw_torch', saveStrategy: 'no' },
    evalBatchSize: 3,
    ...changes,
  });
  /** What a worker pool opens for `experiment(...)`. */
  const evaluators = (outputDir: string, changes: Partial<ExperimentSettings> = {}) => {
    const config = experimentConfig(experiment(outputDir, changes));
    return evaluatorConfigOf(config, config.task as TaskConfig);
  };
  const search = (out: string, workers: number) => [
    'commonsense',
    ...['--model_name_or_path', tiny.path('llama'), '--nncf_config', nncf, '--dataset_path', train],
    ...['--val_set_size', '6', '--cutoff_len', '64', '--output_dir', out, '--do_search', '--seed', '0'],
    ...['--lora_weights', adapter, '--num_beams', '1', '--max_new_tokens', '4', '--per_device_eval_batch_size', '3'],
    ...['--eval_workers', String(workers)],
  ];

  beforeAll(async () => {
    // One trained super-adapter that every search below evaluates.
    const outcome = await runExperiment(
      experiment(adapter, { loraWeights: undefined, phases: { train: true, eval: false, test: false, search: false } }),
    ).result;
    expect(outcome.status).toBe('done');
  });

  it('commonsense through the CLI: 2 workers find what 1 evaluator finds', async () => {
    const serial = path.join(tiny.folder, 'serial');
    const parallel = path.join(tiny.folder, 'parallel');
    const [one, two] = await Promise.all([cli(search(serial, 1)), cli(search(parallel, 2))]);
    expect(one.code).toBe(0);
    expect(two.code).toBe(0);
    expectSameSearch(serial, parallel);
    // Each worker opened its own backend and model; their progress reached the run's events.
    expect(two.stderr).toContain('lonas: evaluator worker-1: backend');
    expect(two.stderr).toContain('lonas: evaluator worker-2: backend');
    const events = read(parallel, 'events.jsonl')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as LonasEvent);
    const progress = events.flatMap((e) => (e.type === 'eval.progress' ? [e] : []));
    // The maximal and heuristic subnets are scored in the main process, the candidates on the workers.
    expect(new Set(progress.map((e) => e.evaluator ?? 'main'))).toEqual(new Set(['main', 'worker-1', 'worker-2']));
  });

  it('glue (STS-B) on a tiny BERT: 2 workers find what 1 evaluator finds', async () => {
    // A regression task: the objective (Pearson's r) differs from subnet to subnet.
    const stsb = path.join(tiny.folder, 'STS-B');
    fs.mkdirSync(stsb);
    const words = ['cat', 'dog', 'mat', 'sat', 'ran', 'big', 'red', 'sun'];
    const lines = Array.from(
      { length: 24 },
      (_, i) =>
        `${i}\tthe ${words[i % 8]} ${words[(i * 3) % 8]}\ta ${words[(i * 5) % 8]} ${words[i % 3]}\t${(i * 7) % 6}`,
    );
    for (const [file, part] of [
      ['train.tsv', lines],
      ['dev.tsv', lines.slice(0, 12)],
    ] as const) {
      fs.writeFileSync(path.join(stsb, file), `index\tsentence1\tsentence2\tscore\n${part.join('\n')}\n`);
    }
    const bert = JSON.parse(fs.readFileSync(path.join(root, 'configs', 'tiny', 'bert.json'), 'utf8'));
    bert.bootstrapNAS.search = { algorithm: 'NSGA2', num_evals: 12, population: 4, ref_acc: 0.3, acc_delta: 0.01 };
    bert.bootstrapNAS.training.schedule.list_stage_descriptions[0].epochs = 1;
    bert.lonas.eval_workers = 2;
    const bertConfig = path.join(tiny.folder, 'bert.json');
    fs.writeFileSync(bertConfig, JSON.stringify(bert));
    const glue = (outputDir: string, changes: Partial<ExperimentSettings>): ExperimentSettings => ({
      ...experiment(outputDir),
      task: { kind: 'glue', taskName: 'stsb', datasetPath: stsb, maxSeqLength: 16 },
      model: tiny.path('bert'),
      nncfConfig: bertConfig,
      ...changes,
    });
    const glueAdapter = path.join(tiny.folder, 'glue-trained');
    const trained = await runExperiment(
      glue(glueAdapter, { loraWeights: undefined, phases: { train: true, eval: false, test: false, search: false } }),
    ).result;
    expect(trained.status).toBe('done');
    // The config's lonas.eval_workers (2), and --eval_workers 1 over it.
    const serial = path.join(tiny.folder, 'glue-serial');
    const parallel = path.join(tiny.folder, 'glue-parallel');
    const parallelRun = runExperiment(glue(parallel, { loraWeights: glueAdapter }));
    const evaluators = new Set<string>();
    parallelRun.events$.subscribe((e) => {
      if (e.type === 'eval.progress' && e.evaluator !== undefined) evaluators.add(e.evaluator);
    });
    const [one, two] = await Promise.all([
      runExperiment(glue(serial, { loraWeights: glueAdapter, evalWorkers: 1 })).result,
      parallelRun.result,
    ]);
    expect([one.status, two.status]).toEqual(['done', 'done']);
    expect(evaluators).toEqual(new Set(['worker-1', 'worker-2']));
    expectSameSearch(serial, parallel);
    // The candidates' scores differ, so equal caches say each was scored the same.
    const accuracies = [...rows(serial, 'cache_top1_acc.csv')].map((row) => row.split(',').at(-1));
    expect(new Set(accuracies).size).toBeGreaterThan(1);
  });

  it('stop() during a search with workers: interrupted, the caches kept, no worker left running', async () => {
    const out = path.join(tiny.folder, 'stopped');
    const handle = runExperiment(experiment(out, { evalWorkers: 2 }));
    handle.events$.subscribe((event) => {
      if (event.type === 'search.candidate') handle.stop();
    });
    const outcome = await handle.result;
    expect(outcome.status).toBe('interrupted');
    expect(rows(out, 'cache_top1_acc.csv').size).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(out, 'search_summary.json'))).toBe(false);
    // The run's result settles only after the search phase's finally has closed the pool, whose
    // close resolves once every worker has ended.
  });

  it('names the worker and the candidate when scoring fails, and ends unfinished work on unsubscribe', async () => {
    const pool = workerPool({ size: 2, config: evaluators(path.join(tiny.folder, 'pool')), logBackend: false });
    try {
      const space = searchSpaceFor(
        readNasConfig(nncf),
        architectureFromConfig(openCheckpoint(tiny.path('llama')).config, 'llama'),
      );
      const bad = { key: '(9, 9, 9)', subnet: { ...space.maximal(), 1: 1000 } };
      await expect(lastValueFrom(pool.evaluate(from([bad])))).rejects.toThrow(
        /^evaluator worker-\d failed on candidate \(9, 9, 9\): /,
      );
      // Three candidates, one result taken: the stream completes and the other workers' work ends.
      const good = space.groups[0].widths.map((rank) => ({ key: `r${rank}`, subnet: { ...space.maximal(), 0: rank } }));
      const first = await lastValueFrom(pool.evaluate(from(good)).pipe(take(1), toArray()));
      expect(first).toHaveLength(1);
      expect(first[0].evaluator).toMatch(/^worker-[12]$/);
      // The pool still serves a later evaluation (ended workers start again).
      const all = await lastValueFrom(pool.evaluate(from(good)).pipe(toArray()));
      expect(all.map((r) => r.key).sort()).toEqual(['r4', 'r6', 'r8']);
    } finally {
      await pool.close();
    }
  });

  it('a worker that cannot open the experiment errors the evaluation, naming it', async () => {
    const pool = workerPool({
      size: 1,
      config: evaluators(path.join(tiny.folder, 'missing'), { model: path.join(tiny.folder, 'no-such-model') }),
      logBackend: false,
      transport: 'process',
    });
    try {
      await expect(lastValueFrom(pool.evaluate(from([{ key: 'k', subnet: {} }])))).rejects.toThrow(
        /^evaluator worker-1 could not open the experiment: /,
      );
    } finally {
      await pool.close();
    }
  });

  it('refuses eval_workers that are not positive integers, naming the field', async () => {
    const outcome = await runExperiment(experiment(path.join(tiny.folder, 'bad'), { evalWorkers: 0 })).result;
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toBe('evalWorkers (--eval_workers) must be a positive integer, got 0');
    const flag = await cli([...search(path.join(tiny.folder, 'bad-flag'), 1).slice(0, -1), '1.5']);
    expect(flag.code).not.toBe(0);
    expect(flag.stderr).toContain("--eval_workers must be an integer >= 1, got '1.5'");
  });
});
