/**
 * lonas as an npm package: `npm pack` of the built tree installs into an empty project offline
 * (from npm's cache, which `npm ci` fills), where `require('lonas')`, an ES module's
 * `import { train } from 'lonas'`, TypeScript's types and the `lonas` command all work.
 *
 * The project gets a package-lock.json cut from this repository's own lock (lonas's production
 * dependencies, at the versions the repository uses): without it npm resolves the dependencies
 * afresh, and that needs registry metadata (full packuments) that `npm ci` does not cache.
 * Where npm's cache lacks a dependency's tarball (no `npm ci` was run with this cache) the
 * suite is skipped with a message instead of failing.
 */
import { execFile, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { describeUnless } from './support/describe-unless';

const run = promisify(execFile);
const repo = path.resolve(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const tsc = require.resolve('typescript/bin/tsc');
const optionalSkipped = '@tensorflow/tfjs-node-gpu';

// npm run as a child of `npm test` inherits its lifecycle settings; the nested npm must not see
// this repository as its project.
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !/^npm_(config_(local_)?prefix|lifecycle_|package_)/i.test(key)),
);

interface LockEntry {
  name?: string;
  version?: string;
  optional?: boolean;
  dev?: boolean;
  devOptional?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  [field: string]: unknown;
}

const lock = JSON.parse(fs.readFileSync(path.join(repo, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, LockEntry>;
};

/**
 * The repository's lock entries for lonas's production dependencies, found as Node resolves
 * them from the root (lonas is the root here and node_modules/lonas in the project: the same
 * hoisted tree serves it). The optional GPU backend stays out: its install script downloads
 * libtensorflow itself, outside npm's cache, and lonas runs without it.
 */
function dependencyEntries(): Record<string, LockEntry> {
  const entries: Record<string, LockEntry> = {};
  const queue = Object.keys(lock.packages[''].dependencies ?? {}).map((name) => ['', name]);
  while (queue.length > 0) {
    const [from, name] = queue.shift()!;
    if (name === optionalSkipped) continue;
    let key: string | undefined;
    for (let dir = from; key === undefined; dir = dir.slice(0, Math.max(0, dir.lastIndexOf('/node_modules/')))) {
      const candidate = `${dir === '' ? '' : `${dir}/`}node_modules/${name}`;
      if (lock.packages[candidate] !== undefined) key = candidate;
      else if (dir === '') break;
    }
    if (key === undefined) throw new Error(`package-lock.json has no ${name} for ${from || 'lonas'}`);
    if (entries[key] !== undefined) continue;
    const entry = { ...lock.packages[key] };
    if (entry.devOptional) entry.optional = true;
    delete entry.dev;
    delete entry.devOptional;
    entries[key] = entry;
    for (const dep of [...Object.keys(entry.dependencies ?? {}), ...Object.keys(entry.optionalDependencies ?? {})])
      queue.push([key, dep]);
  }
  return entries;
}

/** Why the offline install cannot work with this npm cache (a required tarball is missing), or undefined. */
function cacheGap(entries: Record<string, LockEntry>): string | undefined {
  const listing = spawnSync(npm, ['cache', 'ls'], { env, encoding: 'utf8', timeout: 60_000 });
  if (listing.status !== 0) return undefined; // no listing (an npm without `cache ls`): the install itself will tell
  const cached = new Set<string>();
  for (const line of listing.stdout.split('\n')) {
    const match = /\/((?:@[^/]+\/)?[^/]+)\/-\/([^/]+)\.tgz$/.exec(line.trim());
    if (match) cached.add(`${match[1]}/-/${match[2]}`);
  }
  const missing = Object.entries(entries)
    .filter(([, entry]) => !entry.optional)
    .map(([key, entry]) => {
      const name = entry.name ?? key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
      return { name, version: entry.version, file: `${name}/-/${name.split('/').pop()}-${entry.version}` };
    })
    .filter(({ file }) => !cached.has(file));
  if (missing.length === 0) return undefined;
  const names = missing.slice(0, 3).map(({ name, version }) => `${name}@${version}`);
  return `npm's cache lacks ${missing.length} of lonas's dependencies (${names.join(', ')}${missing.length > 3 ? ', ...' : ''}); run 'npm ci' first`;
}

const entries = dependencyEntries();
const gap = cacheGap(entries);
describeUnless(gap, 'lonas as an npm package', () => {
  let temp: string;
  let app: string;
  let installed: string;

  /** Runs a command in the project; resolves with its exit code and output. */
  async function inApp(file: string, args: string[]) {
    try {
      const { stdout, stderr } = await run(file, args, { cwd: app, env, maxBuffer: 64 * 1024 * 1024 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  // Packing and an offline install of ~110 packages (tfjs, vega, rxjs) take 20-40 s on a quiet
  // machine and more on a loaded CI runner; the 60 s default is too tight.
  beforeAll(async () => {
    if (!fs.existsSync(path.join(repo, 'dist', 'index.js')) || !fs.existsSync(path.join(repo, 'build', 'gemm.wasm'))) {
      throw new Error("the package needs the built tree (dist/, build/): run 'npm ci' or 'npm run prepare' first");
    }
    temp = fs.mkdtempSync(path.join(os.tmpdir(), 'lonas-package-'));
    app = path.join(temp, 'app');
    fs.mkdirSync(app);

    // --ignore-scripts: packs the tree as built (`prepare` would rebuild dist/ and build/ under
    // the other test files running meanwhile; `npm test` has just compiled it).
    const packed = await run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', temp], {
      cwd: repo,
      env,
      maxBuffer: 64 * 1024 * 1024,
    });
    const [{ filename }] = JSON.parse(packed.stdout) as { filename: string }[];
    const tarball = path.join(temp, path.basename(filename));

    const spec = `file:${path.relative(app, tarball)}`;
    const root = lock.packages[''];
    const integrity = `sha512-${crypto.createHash('sha512').update(fs.readFileSync(tarball)).digest('base64')}`;
    const manifest = { name: 'app', version: '1.0.0', private: true, dependencies: { lonas: spec } };
    const packages = {
      '': { name: 'app', version: '1.0.0', dependencies: { lonas: spec } },
      'node_modules/lonas': {
        version: root.version,
        resolved: spec,
        integrity,
        license: root.license,
        dependencies: root.dependencies,
        optionalDependencies: root.optionalDependencies,
        bin: root.bin,
        engines: root.engines,
      },
      ...entries,
    };
    fs.writeFileSync(path.join(app, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    fs.writeFileSync(
      path.join(app, 'package-lock.json'),
      `${JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2)}\n`,
    );

    // --ignore-scripts: lonas has no install script; in its dependency tree only the optional
    // @tensorflow/tfjs-node-gpu has one (and core-js under it), and that one downloads
    // libtensorflow over the network whatever --offline says, should an npm version install it.
    const install = await inApp(npm, ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund']);
    expect(install).toMatchObject({ code: 0 });
    installed = path.join(app, 'node_modules', 'lonas');
  }, 300_000);

  afterAll(() => {
    if (temp !== undefined) fs.rmSync(temp, { recursive: true, force: true });
  });

  it('ships the built library, its declarations and what the CLI reads, and no sources or tests', () => {
    for (const file of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/tools/cli/main.js',
      'build/gemm.wasm',
      'build/tfjs-gradients.js',
      'configs/demo-commonsense.json',
      'tools/demo/model/config.json',
      'tools/demo/data/train.json',
      'tools/dashboard/index.html',
    ]) {
      expect(fs.existsSync(path.join(installed, file))).toBe(true);
    }
    for (const absent of ['test', 'src', 'dist/test', 'dist/tools/bench', 'test-artifacts', 'build/lonas_blas.node']) {
      expect(fs.existsSync(path.join(installed, absent))).toBe(false);
    }
  });

  it('loads with require()', async () => {
    const probe =
      "const l = require('lonas'); console.log([typeof l.train, typeof l.experimentMachine, typeof l.openSuperNetwork].join(' '))";
    const { code, stdout, stderr } = await inApp(process.execPath, ['-e', probe]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout.trim()).toBe('function function function');
  });

  it("loads with an ES module's named imports", async () => {
    fs.writeFileSync(
      path.join(app, 'probe.mjs'),
      "import { train, experimentMachine, openSuperNetwork } from 'lonas';\nimport lonas from 'lonas';\nconsole.log([typeof train, typeof experimentMachine, typeof openSuperNetwork, typeof lonas.search].join(' '));\n",
    );
    const { code, stdout, stderr } = await inApp(process.execPath, ['probe.mjs']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout.trim()).toBe('function function function function');
  });

  // tsc checks lonas's declarations and those of its dependencies (no skipLibCheck): 10-30 s.
  it('type-checks a TypeScript file against its declarations', async () => {
    fs.writeFileSync(
      path.join(app, 'probe.ts'),
      [
        "import * as lonas from 'lonas';",
        "import { train, experimentMachine, openSuperNetwork, type TrainerInput, type SearchResult, type LonasEvent } from 'lonas';",
        '',
        'const start: (input: TrainerInput) => Promise<unknown> = train;',
        'const result: SearchResult | undefined = undefined;',
        'const event: LonasEvent | undefined = undefined;',
        '// @ts-expect-error train takes a TrainerInput (the declarations are types, not any)',
        'void lonas.train(42);',
        'export const used = [start, result, event, experimentMachine, openSuperNetwork, lonas.search];',
        '',
      ].join('\n'),
    );
    const compilerOptions = {
      strict: true,
      target: 'ES2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      noEmit: true,
    };
    fs.writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({ compilerOptions, files: ['probe.ts'] }, null, 2),
    );
    const { code, stdout, stderr } = await inApp(process.execPath, [tsc, '-p', 'tsconfig.json']);
    expect({ code, output: `${stdout}${stderr}` }).toEqual({ code: 0, output: '' });
  }, 180_000);

  // Two demo-sized runs on wasm (two training steps, a few test and validation records, a short search).
  it('runs a whole experiment from a plain JavaScript file, as the same run through the CLI does', async () => {
    // One strategy, written once: inline in the script, and as a plug-in file for the command line.
    const strategy = `defineStrategy({
  name: 'seeded-random',
  create({ choices, population, seed }) {
    let state = seed + 1;
    const next = () => (state = (state * 48271) % 2147483647);
    return { ask: () => Array.from({ length: population }, () => choices.map((n) => next() % n)), tell() {} };
  },
})`;
    fs.writeFileSync(
      path.join(app, 'strategy.js'),
      `const { defineStrategy } = require('lonas');\nmodule.exports = ${strategy};\n`,
    );
    const nncfConfig = JSON.parse(fs.readFileSync(path.join(installed, 'configs', 'demo-commonsense.json'), 'utf8'));
    nncfConfig.bootstrapNAS.training.schedule.list_stage_descriptions[0].epochs = 1;
    nncfConfig.bootstrapNAS.search = { num_evals: 6, population: 3, ref_acc: 0.5, acc_delta: 0.01 };
    const demo = (...parts: string[]) => path.join(installed, 'tools', 'demo', ...parts);
    const task = {
      kind: 'commonsense',
      datasetPath: demo('data', 'train.json'),
      datasetsDir: demo('data', 'datasets'),
      testDatasets: ['compare'],
      valSetSize: 8,
      maxTrainSamples: 16,
      maxTestSamples: 8,
      cutoffLen: 128,
      numBeams: 1,
      maxNewTokens: 6,
    };
    fs.writeFileSync(
      path.join(app, 'experiment.js'),
      [
        "const { runExperiment, defineStrategy } = require('lonas');",
        `const result = runExperiment({
  model: ${JSON.stringify(demo('model'))},
  task: ${JSON.stringify(task)},
  nncfConfig: ${JSON.stringify(nncfConfig)},
  outputDir: 'scripted',
  search: ${strategy},
}).result;`,
        "result.then((outcome) => { console.log(outcome.status, outcome.reason ?? ''); process.exitCode = outcome.status === 'done' ? 0 : 1; });",
        '',
      ].join('\n'),
    );
    const scripted = await inApp(process.execPath, ['experiment.js']);
    expect({ code: scripted.code, stdout: scripted.stdout.trim() }).toEqual({ code: 0, stdout: 'done' });

    fs.writeFileSync(
      path.join(app, 'config.json'),
      JSON.stringify({
        ...nncfConfig,
        bootstrapNAS: {
          ...nncfConfig.bootstrapNAS,
          search: { ...nncfConfig.bootstrapNAS.search, algorithm: 'seeded-random' },
        },
      }),
    );
    const bin = path.join(app, 'node_modules', '.bin', 'lonas');
    const flags = [
      ...['--model_name_or_path', demo('model'), '--nncf_config', 'config.json', '--plugin', 'strategy.js'],
      ...['--dataset_path', task.datasetPath, '--datasets_dir', task.datasetsDir, '--test_datasets', 'compare'],
      ...['--val_set_size', '8', '--max_train_samples', '16', '--max_test_samples', '8', '--cutoff_len', '128'],
      // The command line's epochs default to the official scripts' 3; a script's follow the config's stages.
      ...['--num_beams', '1', '--max_new_tokens', '6', '--num_train_epochs', '1'],
      ...['--output_dir', 'cli', '--do_train', '--do_test', '--do_search'],
    ];
    const cli = await inApp(bin, ['commonsense', ...flags]);
    expect({ code: cli.code, stderr: cli.code === 0 ? '' : cli.stderr }).toEqual({ code: 0, stderr: '' });

    const read = (run: string, file: string) => JSON.parse(fs.readFileSync(path.join(app, run, file), 'utf8'));
    expect(read('scripted', 'test_results.json')).toEqual(read('cli', 'test_results.json'));
    const summary = (run: string) => {
      const { front, best, evaluated, hypervolumes, algorithm } = read(run, 'search_summary.json');
      return { front, best, evaluated, hypervolumes, algorithm };
    };
    expect(summary('scripted')).toEqual(summary('cli'));
    expect(summary('scripted').algorithm).toBe('seeded-random');
    expect(summary('scripted').evaluated).toBe(6);
  }, 300_000);

  it('runs the lonas command', async () => {
    const bin = path.join(app, 'node_modules', '.bin', process.platform === 'win32' ? 'lonas.cmd' : 'lonas');
    const help = await inApp(bin, ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: lonas <command>/);
    expect(help.stdout).toMatch(/demo +the whole pipeline/);
    // the packaged demo model and config, read through the package's own paths
    const model = path.join(installed, 'tools', 'demo', 'model', 'config.json');
    const config = path.join(installed, 'configs', 'demo-commonsense.json');
    const cost = await inApp(bin, ['cost', '--model_config', model, '--nncf_config', config, '--json']);
    expect(cost.code).toBe(0);
    expect(JSON.parse(cost.stdout)).toEqual({ weights: expect.any(Number), macs: expect.any(Number) });
  });
});
