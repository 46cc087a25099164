import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { lonasBin, lonasCli as cli } from '../support/cli';
import { makeTinyCheckpoints } from '../support/tiny-checkpoints';
import { evenRecords } from '../support/training';

const configs = path.join(__dirname, '..', '..', 'configs');

/** A search-only run on the tiny LLaMA whose strategies, settings and caches misbehave in turn. */
describe('a search whose strategy, settings or caches misbehave', () => {
  const tiny = makeTinyCheckpoints();
  afterAll(() => tiny.remove());
  const train = path.join(tiny.folder, 'train.json');
  fs.writeFileSync(train, JSON.stringify(evenRecords(8)));
  // Plug-in strategies, one per misbehaviour, in one module.
  fs.writeFileSync(
    path.join(tiny.folder, 'strategies.js'),
    `const { defineStrategy } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'dist', 'index.js'))});
const strategy = (name, ask) => defineStrategy({ name, create: ({ choices }) => ({ ask: () => ask(choices), tell() {} }) });
exports.never = strategy('never', () => new Promise(() => {}));
exports.tooMany = strategy('too-many-genes', (choices) => [choices.map(() => 0).concat([0])]);
exports.notArray = strategy('not-an-array', () => ({ genes: [0] }));
exports.outOfRange = strategy('out-of-range', (choices) => [choices.map((c) => c)]);
`,
  );
  const nncf = (name: string, search: Record<string, unknown>) => {
    const config = JSON.parse(fs.readFileSync(path.join(configs, 'tiny', 'llama.json'), 'utf8'));
    config.bootstrapNAS.search = { num_evals: 8, population: 4, ref_acc: 0.3, acc_delta: 0.01, ...search };
    config.lonas.plugins = ['strategies.js'];
    const file = path.join(tiny.folder, `${name}.json`);
    fs.writeFileSync(file, JSON.stringify(config));
    return file;
  };
  const searchArgs = (config: string, out: string) => [
    'commonsense',
    ...['--model_name_or_path', tiny.path('llama'), '--nncf_config', config, '--dataset_path', train],
    ...['--val_set_size', '4', '--cutoff_len', '64', '--output_dir', path.join(tiny.folder, out), '--do_search'],
    ...['--num_beams', '1', '--max_new_tokens', '2'],
  ];

  /** Runs a search with --events and sends SIGINT once the search has started. */
  const interruptedSearch = (args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [lonasBin, ...args, '--events'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      let stdout = '';
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
        if (stdout.includes('"type":"search.start"')) child.kill('SIGINT');
      });
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });

  it.each([[[]], [['--live', '0']], [['--eval_workers', '2']]])(
    'an ask() that never settles keeps the run alive, and the first SIGINT ends it with 130 (%j)',
    async (extra: string[]) => {
      const out = `never${extra.join('')}`;
      const result = await interruptedSearch([...searchArgs(nncf('never', { algorithm: 'never' }), out), ...extra]);
      expect(result.stderr).toContain('stopped by SIGINT; the same command resumes the search from its caches');
      expect(result.stderr).not.toContain('--resume');
      expect(result.code).toBe(130);
      expect(fs.existsSync(path.join(tiny.folder, out, 'lonas.lock'))).toBe(false);
    },
  );

  it.each([
    ['too-many-genes', 'candidate 0 must be an array of'],
    ['not-an-array', 'must return an array of at most 4 (the population) gene vectors, got {"genes":[0]}'],
    ['out-of-range', 'candidate 0, gene 0 must be an integer from 0 to'],
  ])("a strategy's malformed ask() (%s) is an error naming the strategy", async (algorithm, message) => {
    const result = await cli(searchArgs(nncf(algorithm, { algorithm }), algorithm));
    expect(result.stderr).toContain(`search strategy '${algorithm}': ask() `);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toContain('TypeError');
    expect(result.code).toBe(1);
  });

  it('a num_evals past the search space ends early and says why', async () => {
    const result = await cli(searchArgs(nncf('huge', { num_evals: 1e12, population: 4 }), 'huge'));
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /the search ended early: NSGA2 proposed no new subnet after \d+ of 1000000000000 evaluations \(the search space holds \d+ subnets\)/,
    );
    const summary = JSON.parse(fs.readFileSync(path.join(tiny.folder, 'huge', 'search_summary.json'), 'utf8'));
    expect(summary.ended_early).toContain('NSGA2 proposed no new subnet');

    // An edited cache value is refused, naming the file and line, not read as NaN.
    const cache = path.join(tiny.folder, 'huge', 'cache_top1_acc.csv');
    const rows = fs.readFileSync(cache, 'utf8').split('\n');
    rows[1] = rows[1].replace(/,[^,]*$/, ',abc');
    fs.writeFileSync(cache, rows.join('\n'));
    const rerun = await cli(searchArgs(nncf('huge', { num_evals: 1e12, population: 4 }), 'huge'));
    expect(rerun.stderr).toContain(`${cache}, line 2: expected "(gene, gene, ...)",<number>, got '`);
    expect(rerun.code).toBe(1);
  });
});
