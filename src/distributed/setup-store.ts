/**
 * Search setups in Redis: the search stores one with its blobs (again, should Redis lose them),
 * a worker fetches it, checks it against its hash and writes its files to its own disk.
 */
import * as fs from 'fs';
import * as t from 'io-ts';
import * as path from 'path';
import type { Redis } from 'ioredis';
import { decode } from '../config/decode';
import { writeFileAtomic } from '../io/atomic-write';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE } from '../nas/peft-adapter';
import { BLOB_TTL_SECONDS, getBlob, hasBlob, putBlob, sha256 } from './blob-store';
import type { EvalSetup, PublishedSetup } from './eval-setup';

const Hash = t.refinement(t.string, (s) => /^[0-9a-f]{64}$/.test(s), 'a SHA-256 in hex');
const EvalSetupJson = t.type({
  format: t.literal('lonas-eval-setup/1'),
  task: t.intersection([t.type({ kind: t.keyof({ commonsense: null, math: null, glue: null }) }), t.UnknownRecord]),
  model: t.intersection([
    t.type({
      path: t.string,
      identity: t.intersection([
        t.type({ config: t.UnknownRecord, files: t.string }),
        t.partial({ tokenizer: t.string }),
      ]),
    }),
    t.partial({ tokenizer: t.string }),
  ]),
  nncfConfig: Hash,
  adapter: t.type({ config: Hash, weights: Hash }),
  validation: Hash,
  lora: t.UnknownRecord,
  seed: t.number,
  evalBatchSize: t.number,
});

const setupKey = (hash: string) => `lonas:setup:${hash}`;

/** Stores the setup and its blobs (again, after Redis lost them); refreshes their expiry otherwise. */
export async function storeSetup(redis: Redis, published: PublishedSetup): Promise<void> {
  for (const blob of published.blobs) await putBlob(redis, blob.bytes);
  await redis.set(setupKey(published.hash), JSON.stringify(published.setup), 'EX', BLOB_TTL_SECONDS);
}

/** Whether Redis still holds the setup and every blob. */
export async function isSetupStored(redis: Redis, published: PublishedSetup): Promise<boolean> {
  if ((await redis.exists(setupKey(published.hash))) === 0) return false;
  for (const blob of published.blobs) if (!(await hasBlob(redis, blob.hash))) return false;
  return true;
}

/** The setup `hash` from Redis, checked against its hash and decoded. */
export async function fetchSetup(redis: Redis, hash: string): Promise<EvalSetup> {
  const json = await redis.get(setupKey(hash));
  if (json === null) throw new Error(`search setup ${hash.slice(0, 12)} is not in Redis (expired, or Redis lost it)`);
  if (sha256(json) !== hash) throw new Error(`search setup ${hash.slice(0, 12)} does not match its hash`);
  return decode(EvalSetupJson, JSON.parse(json), `search setup ${hash.slice(0, 12)}`) as unknown as EvalSetup;
}

/** A setup's files on a worker's disk, and its validation records. */
export interface MaterializedSetup {
  nncfConfig: string;
  adapterFolder: string;
  records: unknown[];
}

/** Writes the setup's NNCF config and adapter under `folder` (fetched from Redis) and reads its records. */
export async function materializeSetup(redis: Redis, setup: EvalSetup, folder: string): Promise<MaterializedSetup> {
  const adapterFolder = path.join(folder, 'adapter');
  fs.mkdirSync(adapterFolder, { recursive: true });
  const nncfConfig = path.join(folder, 'nncf_config.json');
  writeFileAtomic(nncfConfig, await getBlob(redis, setup.nncfConfig, 'the NNCF config'));
  writeFileAtomic(
    path.join(adapterFolder, ADAPTER_CONFIG_FILE),
    await getBlob(redis, setup.adapter.config, ADAPTER_CONFIG_FILE),
  );
  writeFileAtomic(
    path.join(adapterFolder, ADAPTER_WEIGHTS_FILE),
    await getBlob(redis, setup.adapter.weights, ADAPTER_WEIGHTS_FILE),
  );
  const records = JSON.parse((await getBlob(redis, setup.validation, 'the validation records')).toString('utf8'));
  if (!Array.isArray(records)) throw new Error('the validation records are not a JSON array');
  return { nncfConfig, adapterFolder, records };
}
