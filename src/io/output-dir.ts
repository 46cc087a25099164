import * as fs from 'fs';
import * as path from 'path';
import { ExperimentError } from '../util/experiment-error';
import { describeHolder, thisProcess } from './lock-holder';
import { LockHeldError, takeLockFile } from './lock-file';

const LOCK = 'lonas.lock';

/**
 * Takes the output folder for this process (`lonas.lock`, naming its pid, start time and host),
 * so that two runs never write into one folder; a lock whose process has gone is taken over
 * (`takeLockFile`). Returns the release.
 */
export function lockOutputDir(folder: string): () => void {
  const file = path.join(folder, LOCK);
  try {
    return takeLockFile(file, thisProcess());
  } catch (error) {
    if (!(error instanceof LockHeldError)) throw error;
    throw new ExperimentError(
      `${folder} is in use by another lonas run (${file}: ${describeHolder(error.holder)}); ` +
        `wait for it or choose another --output_dir (remove ${file} only if that process is not a lonas run)`,
    );
  }
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
