import * as fs from 'fs';
import * as path from 'path';

/** Walks up from this file to the lonas package root (same answer from src/ under jest and from dist/). */
function packageRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, 'utf8')).name === 'lonas') return dir;
    if (path.dirname(dir) === dir) throw new Error(`cannot find the lonas package root above ${__dirname}`);
  }
}

/** A path inside the lonas package (its own files, such as the dashboard's). */
export function packagePath(...parts: string[]): string {
  return path.join(packageRoot(), ...parts);
}

/**
 * A file that `npm ci` generates into build/ (the `prepare` script); a clear error names the
 * command that makes it when it is missing.
 */
export function buildArtifact(name: string): string {
  const file = path.join(packageRoot(), 'build', name);
  if (!fs.existsSync(file)) {
    throw new Error(`${file} is missing: it is generated when lonas is installed; run 'npm run prepare' to make it`);
  }
  return file;
}
