import * as fs from 'fs';
import * as path from 'path';
import { ExperimentError } from '../tasks/task';
import { isRunning } from '../util/process-running';

const LOCK = 'lonas.lock';

/**
 * Takes the output folder for this process (`lonas.lock`, holding its pid), so that two runs
 * never write into one folder; a lock whose process has gone is taken over. Returns the release.
 */
export function lockOutputDir(folder: string): () => void {
  const file = path.join(folder, LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      return () => fs.rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(fs.readFileSync(file, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isRunning(holder)) {
        throw new ExperimentError(
          `${folder} is in use by another lonas run (pid ${holder}); wait for it or choose another --output_dir`,
        );
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new ExperimentError(`${folder}: could not take ${LOCK}`);
}

/** What a training run leaves in its output folder. */
const TRAINING_OUTPUTS = /^(checkpoint-\d+|adapter_model\.safetensors|adapter_config\.json)$/;

/**
 * A training run starts in a folder that no other training run used, or continues that run
 * (`resume`), or replaces it (`overwrite`: its checkpoints and adapter are removed first, so
 * they can neither be resumed nor outrank the new run's checkpoints).
 */
export function claimForTraining(folder: string, options: { resume: boolean; overwrite: boolean }): void {
  const used = fs.existsSync(folder) ? fs.readdirSync(folder).filter((name) => TRAINING_OUTPUTS.test(name)) : [];
  if (used.length === 0 || options.resume) return;
  if (!options.overwrite) {
    throw new ExperimentError(
      `${folder} holds another training run (${used.slice(0, 3).join(', ')}${used.length > 3 ? ', ...' : ''}): ` +
        'give --resume to continue it or --overwrite_output_dir to replace it',
    );
  }
  for (const name of used) fs.rmSync(path.join(folder, name), { recursive: true, force: true });
}
