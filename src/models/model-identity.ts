import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { openCheckpoint } from './checkpoint';

/** What makes two copies of a base model the same: its config and the bytes of its files. */
export interface ModelIdentity {
  /** config.json (or a llama2.c header as config.json). */
  config: Record<string, unknown>;
  /** SHA-256 over the checkpoint's files: the .bin, or every file of the folder (weights, tokenizer, config) by name. */
  files: string;
  /** SHA-256 of a tokenizer file given apart from the model (llama2.c), where there is one. */
  tokenizer?: string;
}

async function hashInto(hash: ReturnType<typeof createHash>, file: string): Promise<void> {
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer);
}

async function hashOf(files: string[], root: string): Promise<string> {
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(`${path.relative(root, file)}\u0000`);
    await hashInto(hash, file);
    hash.update('\u0000');
  }
  return hash.digest('hex');
}

/** The files of a model: the checkpoint file itself, or a folder's regular files (not hidden ones), sorted. */
function modelFiles(location: string): string[] {
  if (!fs.statSync(location).isDirectory()) return [location];
  return fs
    .readdirSync(location, { withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.name.startsWith('.'))
    .map((entry) => path.join(location, entry.name))
    .sort();
}

/**
 * The identity of the base model at `location` (with `tokenizer` when the checkpoint has none
 * beside it). Reads every byte once: seconds per GB.
 */
export async function modelIdentity(location: string, tokenizer?: string): Promise<ModelIdentity> {
  const { config } = openCheckpoint(location);
  const files = modelFiles(location);
  return {
    config,
    files: await hashOf(files, path.dirname(files[0])),
    ...(tokenizer === undefined ? {} : { tokenizer: await hashOf([tokenizer], path.dirname(tokenizer)) }),
  };
}

/** How `mine` differs from `wanted`: the config fields, the files or the tokenizer; undefined if they match. */
export function identityDifference(mine: ModelIdentity, wanted: ModelIdentity): string | undefined {
  const keys = [...new Set([...Object.keys(mine.config), ...Object.keys(wanted.config)])].sort();
  const fields = keys.filter((key) => JSON.stringify(mine.config[key]) !== JSON.stringify(wanted.config[key]));
  if (fields.length > 0) {
    const shown = fields
      .slice(0, 3)
      .map(
        (key) => `${key} ${JSON.stringify(mine.config[key])} here, ${JSON.stringify(wanted.config[key])} in the search`,
      );
    return `its config differs: ${shown.join('; ')}${fields.length > 3 ? ` (and ${fields.length - 3} more)` : ''}`;
  }
  if (mine.files !== wanted.files) {
    return `its files differ (sha256 ${mine.files.slice(0, 12)}… here, ${wanted.files.slice(0, 12)}… in the search)`;
  }
  if (mine.tokenizer !== wanted.tokenizer) {
    return `its tokenizer differs (sha256 ${mine.tokenizer?.slice(0, 12) ?? 'none'} here, ${wanted.tokenizer?.slice(0, 12) ?? 'none'} in the search)`;
  }
  return undefined;
}
