import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import { describeWithSharedData, sharedData } from './support/shared-data';
import { makeTinyCheckpoints } from './support/tiny-checkpoints';

const run = promisify(execFile);
const lonas = path.join(__dirname, '..', 'bin', 'lonas.js');

/** Runs the built CLI as a user would; resolves with its exit code and output. */
async function cli(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [lonas, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('lonas CLI', () => {
  it('lists its commands', async () => {
    const { code, stdout } = await cli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/backend +choose the tensor backend/);
    expect(stdout).toMatch(/generate +continue a prompt/);
  });

  it('honours --backend over LONAS_BACKEND and reports the choice', async () => {
    const { code, stdout } = await cli(['backend', '--backend', 'cpu', '--json'], { LONAS_BACKEND: 'wasm' });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ name: 'cpu', reason: 'asked for by --backend' });
  });

  it('reports the backend it chose on stderr, in one line', async () => {
    const { code, stderr } = await cli(['backend'], { LONAS_BACKEND: 'wasm' });
    expect(code).toBe(0);
    expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/^lonas: backend wasm .*LONAS_BACKEND/)]);
  });

  it('fails with a clear message on an unknown backend', async () => {
    const { code, stderr } = await cli(['backend'], { LONAS_BACKEND: 'metal' });
    expect(code).toBe(1);
    expect(stderr).toContain('LONAS_BACKEND=metal is not a backend');
  });

  it('rejects an unknown option with the usage', async () => {
    const { code, stderr } = await cli(['backend', '--bogus']);
    expect(code).toBe(2);
    expect(stderr).toContain("Unknown option '--bogus'");
    expect(stderr).toContain('usage: lonas backend');
  });

  it('rejects an unknown command', async () => {
    const { code, stderr } = await cli(['train-everything']);
    expect(code).toBe(2);
    expect(stderr).toContain("unknown command 'train-everything'");
  });
});

describe('lonas generate', () => {
  const tiny = makeTinyCheckpoints();
  afterAll(() => tiny.remove());

  it.each(['llama', 'bloom'] as const)('continues a prompt with a tiny %s folder, as JSON', async (family) => {
    const args = ['generate', '--model', tiny.path(family), '--prompt', 'the cat', '--max_new_tokens', '5', '--json'];
    const { code, stdout } = await cli(args);
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.ids.length).toBeGreaterThan(0);
    expect(result.ids.length).toBeLessThanOrEqual(5);
    expect(typeof result.text).toBe('string');
    const beams = JSON.parse((await cli([...args, '--num_beams', '3'])).stdout);
    expect(beams.ids.length).toBeLessThanOrEqual(5);
  });

  it('names what is wrong with its flags and files', async () => {
    expect((await cli(['generate'])).stderr).toContain('--model is required');
    const beams = await cli(['generate', '--model', tiny.path('llama'), '--num_beams', '0']);
    expect(beams.code).toBe(2);
    expect(beams.stderr).toContain("--num_beams must be a positive integer, got '0'");
    const missing = await cli(['generate', '--model', `${tiny.folder}/nothing-here`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nothing-here: no such model folder or checkpoint file');
  });
});

describeWithSharedData(
  'lonas generate on stories260K',
  ['models/stories260K/stories260K.bin', 'models/stories260K/tok512.bin', 'models/stories260K/golden_greedy200.json'],
  () => {
    it('prints exactly the 200 golden ids and text', async () => {
      const dir = sharedData('models/stories260K');
      const { code, stdout } = await cli([
        'generate',
        '--model',
        `${dir}/stories260K.bin`,
        '--tokenizer',
        `${dir}/tok512.bin`,
        '--max_new_tokens',
        '200',
        '--json',
      ]);
      expect(code).toBe(0);
      const golden = JSON.parse(fs.readFileSync(`${dir}/golden_greedy200.json`, 'utf8'));
      expect(JSON.parse(stdout)).toEqual({ ids: golden.generated_ids, text: golden.text });
    });
  },
);
