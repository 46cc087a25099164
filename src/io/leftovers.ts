import * as fs from 'fs';
import * as path from 'path';
import { isRunning } from '../util/process-running';

/** `checkpoint-12.partial-4242` and `adapter_model.safetensors.4242.tmp`: what an atomic write leaves when killed. */
const LEFTOVER = /(?:\.partial-(\d+)|\.(\d+)\.tmp)$/;

/**
 * Removes the half-written folders and files a killed run left in `folder` (and its checkpoints),
 * those of a process still running excepted. Returns what it removed.
 */
export function removeLeftovers(folder: string): string[] {
  if (!fs.existsSync(folder)) return [];
  const removed: string[] = [];
  const visit = (dir: string, depth: number) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const match = LEFTOVER.exec(entry.name);
      const pid = match === null ? undefined : Number(match[1] ?? match[2]);
      if (pid !== undefined && pid !== process.pid && !isRunning(pid)) {
        fs.rmSync(full, { recursive: true, force: true });
        removed.push(full);
      } else if (entry.isDirectory() && depth > 0 && pid === undefined) {
        visit(full, depth - 1);
      }
    }
  };
  // The output folder, its checkpoints, and their adapter folders.
  visit(folder, 2);
  return removed;
}
