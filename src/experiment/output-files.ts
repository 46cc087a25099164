import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../io/atomic-write';
import type { TaskOutput } from '../tasks/task';

/** A run's JSON result files in `outputDir`, each written whole (atomically). */
export function outputFiles(outputDir: string): TaskOutput {
  const written = new Set<string>();
  const output: TaskOutput = {
    writeJson: (name, value) => {
      writeFileAtomic(path.join(outputDir, name), `${JSON.stringify(value, null, 2)}\n`);
      written.add(name);
    },
    // Only a file this run wrote is merged into: one left by another run is replaced.
    mergeJson: (name, value) => {
      const before = written.has(name)
        ? (JSON.parse(fs.readFileSync(path.join(outputDir, name), 'utf8')) as Record<string, unknown>)
        : {};
      output.writeJson(name, { ...before, ...value });
    },
  };
  return output;
}
