import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeTinyCheckpoint, tinyFamilies, type TinyFamily } from '../../tools/tiny-checkpoints/make';

/** Writes the tiny LLaMA, BLOOM and BERT checkpoints (seed 0) into a fresh temporary folder. */
export function makeTinyCheckpoints(): { folder: string; path(family: TinyFamily): string; remove(): void } {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'lonas-tiny-'));
  for (const family of tinyFamilies) makeTinyCheckpoint(family, path.join(folder, family), 0);
  return {
    folder,
    path: (family) => path.join(folder, family),
    remove: () => fs.rmSync(folder, { recursive: true, force: true }),
  };
}
