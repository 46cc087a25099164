import { createHash } from 'crypto';
import * as fs from 'fs';
import { ExperimentError } from '../util/experiment-error';
import { writeFileAtomic } from './atomic-write';
import { formatHolder, isLive, parseHolder, type LockHolder } from './lock-holder';

/** A lock file that another live process holds (or is taking over). */
export class LockHeldError extends ExperimentError {
  constructor(
    readonly file: string,
    readonly holder: LockHolder,
  ) {
    super(`${file} is held by pid ${holder.pid}`);
    this.name = 'LockHeldError';
  }
}

/** Points of a takeover where a test lets a rival taker run (they are this module's only waits). */
export type TakeoverStep = 'found-stale' | 'claimed' | 'replaced';

/** Nested takeovers: each level is a taker killed in the middle of one; more is not an accident. */
const MAX_DEPTH = 4;

const readIfThere = (file: string): string | undefined => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
};

/** Creates `file` holding `text` unless it exists; readers never see it empty (it is linked in whole). */
function createWhole(file: string, text: string): boolean {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, text);
  try {
    fs.linkSync(temporary, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    fs.rmSync(temporary, { force: true });
  }
}

/** Removes `file` if it still says `text` (a lock is only ever replaced by a taker that found its holder dead). */
function removeIfStill(file: string, text: string): void {
  if (readIfThere(file) === text) fs.rmSync(file, { force: true });
}

/**
 * Takes `file` for `holder` or throws LockHeldError naming the live holder. A free file is created
 * whole (link); a stale one (its holder dead) is replaced only by the one taker that wins the
 * takeover claim for that very content, a file created exclusively beside it; the winner checks that
 * the lock still says what it found dead, then renames its own over it. So two takers of one stale
 * lock never both hold it, and a taker that read it before another took it over backs off. A claim
 * whose taker died is itself a stale lock, taken over the same way. Returns the release, which
 * removes the file only while it is still this holder's.
 */
export function takeLockFile(
  file: string,
  holder: LockHolder,
  onStep: (step: TakeoverStep) => void = () => undefined,
): () => void {
  const text = formatHolder(holder);
  const own = (target: string, depth: number): void => {
    for (;;) {
      if (createWhole(target, text)) return;
      const found = readIfThere(target);
      if (found === undefined) continue;
      const current = parseHolder(found, target);
      if (isLive(current)) throw new LockHeldError(file, current);
      onStep('found-stale');
      if (depth === MAX_DEPTH) {
        throw new ExperimentError(`${file}: ${MAX_DEPTH} takeovers of it were interrupted; remove ${file}.takeover-*`);
      }
      const claim = `${file}.takeover-${createHash('sha256').update(`${target}\n${found}`).digest('hex').slice(0, 16)}`;
      try {
        own(claim, depth + 1);
      } catch (error) {
        // A live rival took the claim: it is taking the lock over, unless the lock changed meanwhile.
        if (error instanceof LockHeldError && readIfThere(target) !== found) continue;
        throw error;
      }
      onStep('claimed');
      try {
        // Only the claim's holder may replace this content, so it cannot change between read and rename.
        if (readIfThere(target) === found) {
          writeFileAtomic(target, text);
          onStep('replaced');
          return;
        }
      } finally {
        removeIfStill(claim, text);
      }
    }
  };
  own(file, 0);
  return () => removeIfStill(file, text);
}
