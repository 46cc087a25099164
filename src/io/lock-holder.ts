import { randomBytes } from 'crypto';
import * as os from 'os';
import { ExperimentError } from '../util/experiment-error';
import { isRunning, processStartTicks } from '../util/process-running';

/** Who holds a lock file: what the file says, one JSON line. */
export interface LockHolder {
  pid: number;
  /** When the process started, in clock ticks since boot (`processStartTicks`); absent without /proc. */
  startTicks?: number;
  /** When it started, as an ISO time, for people. */
  started?: string;
  host?: string;
  /** Tells apart two locks of one process, so that each is released only by its taker. */
  nonce?: string;
}

/** This process, as the holder of a lock it is about to take. */
export function thisProcess(): LockHolder {
  const startTicks = processStartTicks(process.pid);
  return {
    pid: process.pid,
    ...(startTicks === undefined ? {} : { startTicks }),
    started: new Date(Date.now() - process.uptime() * 1000).toISOString(),
    host: os.hostname(),
    nonce: randomBytes(8).toString('hex'),
  };
}

export const formatHolder = (holder: LockHolder): string => `${JSON.stringify(holder)}\n`;

const isOptional = (value: unknown, type: 'number' | 'string') => value === undefined || typeof value === type;

/** The holder a lock file names: a JSON line, or a bare pid line (the lock of an earlier lonas). */
export function parseHolder(text: string, file: string): LockHolder {
  if (/^\s*\d+\s*$/.test(text)) return { pid: Number(text) };
  let holder: Partial<Record<keyof LockHolder, unknown>> | undefined;
  try {
    holder = JSON.parse(text);
  } catch {
    // not JSON: refused below
  }
  if (
    typeof holder !== 'object' ||
    holder === null ||
    !Number.isSafeInteger(holder.pid) ||
    (holder.pid as number) <= 0 ||
    !isOptional(holder.startTicks, 'number') ||
    !isOptional(holder.started, 'string') ||
    !isOptional(holder.host, 'string') ||
    !isOptional(holder.nonce, 'string')
  ) {
    throw new ExperimentError(
      `${file} is not a lonas lock (expected a pid line or {"pid": ..., "startTicks": ..., "started": ..., "host": ...}, ` +
        `got ${JSON.stringify(text.slice(0, 80))}): remove it if no lonas run uses this folder`,
    );
  }
  return holder as LockHolder;
}

/**
 * Whether the holder may still be using the lock. A lock of another host cannot be checked, so
 * counts as held. An earlier lonas's lock naming this process's pid was left by a process that had
 * the pid before it (this process never wrote that lock).
 */
export function isLive(holder: LockHolder): boolean {
  if (holder.host !== undefined && holder.host !== os.hostname()) return true;
  if (holder.pid === process.pid && holder.nonce === undefined) return false;
  return isRunning(holder.pid, holder.startTicks);
}

/** "pid 4242, started 2024-05-01T10:00:00.000Z, on host gpu1", as far as the lock says. */
export function describeHolder(holder: LockHolder): string {
  const started = holder.started === undefined ? 'start time not recorded' : `started ${holder.started}`;
  const host = holder.host === undefined || holder.host === os.hostname() ? '' : `, on host ${holder.host}`;
  return `pid ${holder.pid}, ${started}${host}`;
}
