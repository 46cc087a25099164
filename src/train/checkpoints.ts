import * as fs from 'fs';
import * as path from 'path';

const PATTERN = /^checkpoint-(\d+)$/;

/** The checkpoint folders in `outputDir`, oldest first (by global step). */
export function listCheckpoints(outputDir: string): string[] {
  if (!fs.existsSync(outputDir)) return [];
  return fs
    .readdirSync(outputDir)
    .filter((name) => PATTERN.test(name) && fs.statSync(path.join(outputDir, name)).isDirectory())
    .sort((a, b) => Number(PATTERN.exec(a)?.[1]) - Number(PATTERN.exec(b)?.[1]))
    .map((name) => path.join(outputDir, name));
}

export function latestCheckpoint(outputDir: string): string | undefined {
  return listCheckpoints(outputDir).at(-1);
}

/**
 * Writes `checkpoint-<globalStep>` atomically: `fill` writes into a temporary folder that is
 * renamed into place only when complete, so a kill mid-write leaves the previous checkpoints
 * intact. Then only the newest `keep` checkpoints are kept.
 */
export async function writeCheckpoint(
  outputDir: string,
  globalStep: number,
  fill: (folder: string) => Promise<void>,
  keep?: number,
): Promise<string> {
  const final = path.join(outputDir, `checkpoint-${globalStep}`);
  const temporary = `${final}.partial-${process.pid}`;
  fs.rmSync(temporary, { recursive: true, force: true });
  fs.mkdirSync(temporary, { recursive: true });
  await fill(temporary);
  fs.rmSync(final, { recursive: true, force: true });
  fs.renameSync(temporary, final);
  if (keep !== undefined && keep > 0) {
    for (const old of listCheckpoints(outputDir).slice(0, -keep)) fs.rmSync(old, { recursive: true, force: true });
  }
  return final;
}
