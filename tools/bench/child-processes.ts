import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as path from 'path';
import { errorMessage } from '../../src/util/error-message';

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
    throw new Error(`${path.basename(command)} ${args.join(' ')}: ${errorMessage(error)}\n${output.trim()}`);
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

/**
 * Runs `command` to its end with OpenBLAS (and OpenMP) held to `threads`: its output, or why it
 * failed (its last line of output, a signal, a timeout), for a benchmark's other side.
 */
export function runWithThreads(
  command: string,
  args: string[],
  threads: number,
  timeoutMs?: number,
): { stdout: string; stderr: string } | string {
  const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  const run = spawnSync(command, args, { encoding: 'utf8', env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  if (run.error !== undefined) return run.error.message;
  if (run.signal !== null)
    return `killed by ${run.signal}${timeoutMs === undefined ? '' : ` (limit ${timeoutMs / 60000} min)`}`;
  if (run.status !== 0) return (run.stderr || run.stdout).trim().split('\n').slice(-1)[0] ?? `exit ${run.status}`;
  return { stdout: run.stdout, stderr: run.stderr };
}
