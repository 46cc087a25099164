import { execFile } from 'child_process';
import * as path from 'path';
import { promisify } from 'util';

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
