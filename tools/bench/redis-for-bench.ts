import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

/** Why the benchmark's own Redis cannot run here, or undefined when Debian's redis-server is installed. */
export function redisServerMissing(): string | undefined {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.status === 0) return undefined;
  const why = probe.error?.message ?? `exited with ${probe.status}: ${probe.stderr}`;
  return `redis-server is not available (${why.trim()}); apt-get install redis-server`;
}

/** A free loopback TCP port. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Children of this process that must not outlive it (killed on exit, even when the benchmark throws or is interrupted). */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/**
 * Spawns `command` and resolves once a line of its output includes `ready`; rejects with the
 * output's tail if it exits first or is not ready within `timeoutMs`. Its output is kept (the
 * last 8 kB) for errors.
 */
export async function spawnUntilReady(
  command: string,
  args: string[],
  ready: string,
  timeoutMs: number,
): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8192);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready in ${timeoutMs / 1000} s`)), timeoutMs);
      const look = () => {
        if (output.includes(ready)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', look);
      child.stderr?.on('data', look);
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`exited with ${code ?? signal}`));
      });
    });
  } catch (error) {
    await stopChild(child, 0);
    throw new Error(
      `${path.basename(command)} ${args.join(' ')}: ${error instanceof Error ? error.message : String(error)}\n${output.trim()}`,
    );
  }
  return { child, output: () => output };
}

/** SIGTERM, then SIGKILL after `graceMs` (at once when 0); resolves once `child` has exited. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = graceMs > 0 ? setTimeout(() => child.kill('SIGKILL'), graceMs) : undefined;
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
  });
}

export interface BenchRedis {
  url: string;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

/**
 * A redis-server of the benchmark's own: loopback, a free port, a temporary --dir, nothing
 * persisted (no RDB snapshots, no append-only file: no disk writes in the timed part).
 */
export async function startBenchRedis(): Promise<BenchRedis> {
  const port = await freePort();
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'lonas-bench-redis-'));
  const args = [
    ...['--bind', '127.0.0.1', '--port', String(port), '--dir', folder],
    ...['--save', '', '--appendonly', 'no', '--daemonize', 'no', '--protected-mode', 'no', '--logfile', ''],
  ];
  let server: ChildProcess;
  try {
    ({ child: server } = await spawnUntilReady('redis-server', args, 'Ready to accept connections', 20_000));
  } catch (error) {
    fs.rmSync(folder, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      await stopChild(server, 5000);
      fs.rmSync(folder, { recursive: true, force: true });
    },
  };
}
