import * as fs from 'fs';

/**
 * When the process with this pid started, in clock ticks since boot (field 22 of
 * /proc/PID/stat); undefined where there is no such process or no /proc (not Linux).
 */
export function processStartTicks(pid: number): number | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2, the command name, is in parentheses and may hold spaces and parentheses itself.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[22 - 3]);
  return Number.isSafeInteger(ticks) ? ticks : undefined;
}

/**
 * Whether a process with this pid is alive (EPERM: alive, but another user's). Given the start
 * time it had (`processStartTicks`), a process that started at another time is a later one
 * that was given the same pid, so not it; where start times cannot be read, the pid decides.
 */
export function isRunning(pid: number, startTicks?: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (startTicks === undefined) return true;
  const now = processStartTicks(pid);
  return now === undefined || now === startTicks;
}
