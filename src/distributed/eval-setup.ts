import * as fs from 'fs';
import * as t from 'io-ts';
import * as os from 'os';
import * as path from 'path';
import type { Redis } from 'ioredis';
import { decode } from '../config/decode';
import type { ExperimentConfig } from '../experiment/experiment-config';
import { saveAdapter } from '../io/peft';
import { writeFileAtomic } from '../io/atomic-write';
import type { ModelIdentity } from '../io/model-identity';
import type { SuperNetwork } from '../nas/super-network';
import { BLOB_TTL_SECONDS, getBlob, hasBlob, putBlob, sha256 } from './blob-store';

/**
 * Everything a queue worker needs to score a search's candidates exactly as the search would,
 * besides its own copy of the base model: the task's settings, the NNCF config, the super-adapter
 * and the validation records (the last three as blobs, by content hash), and the identity of
 * the base model it must hold. Stored in Redis under its own SHA-256, which the jobs name.
 */
export interface EvalSetup {
  format: 'lonas-eval-setup/1';
  /** The task's settings (its file paths are the search machine's: workers score `validation`). */
  task: ExperimentConfig['task'];
  model: { path: string; tokenizer?: string; identity: ModelIdentity };
  /** Blob hashes: the NNCF config file, the adapter's two files, the validation records as JSON. */
  nncfConfig: string;
  adapter: { config: string; weights: string };
  validation: string;
  lora: ExperimentConfig['lora'];
  loraDefaults?: ExperimentConfig['loraDefaults'];
  seed: number;
  evalBatchSize: number;
}

const Hash = t.refinement(t.string, (s) => /^[0-9a-f]{64}$/.test(s), 'a SHA-256 in hex');
const EvalSetupJson = t.intersection([
  t.type({
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
  }),
  t.partial({ loraDefaults: t.UnknownRecord }),
]);

const setupKey = (hash: string) => `lonas:setup:${hash}`;
const ADAPTER_CONFIG = 'adapter_config.json';
const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

/** A setup ready to store: its JSON, its hash, and the blobs it names. */
export interface PublishedSetup {
  hash: string;
  setup: EvalSetup;
  /** Stores the setup and its blobs (again, after Redis lost them); refreshes their expiry otherwise. */
  store(redis: Redis): Promise<void>;
  /** Whether Redis still holds the setup and every blob. */
  isStored(redis: Redis): Promise<boolean>;
}

/**
 * The setup of a search over `network`'s current adapter (serialised as the PEFT files a worker
 * loads), scored on `records` with the experiment's task settings.
 */
export function prepareSetup(
  config: ExperimentConfig,
  network: SuperNetwork,
  adapterTaskType: 'CAUSAL_LM' | 'SEQ_CLS',
  records: unknown[],
  identity: ModelIdentity,
): PublishedSetup {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'lonas-setup-'));
  let adapterConfig: Buffer;
  let adapterWeights: Buffer;
  try {
    saveAdapter(folder, network, { baseModel: config.model, taskType: adapterTaskType });
    adapterConfig = fs.readFileSync(path.join(folder, ADAPTER_CONFIG));
    adapterWeights = fs.readFileSync(path.join(folder, ADAPTER_WEIGHTS));
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
  const blobs = [
    fs.readFileSync(config.nncfConfig),
    adapterConfig,
    adapterWeights,
    Buffer.from(JSON.stringify(records)),
  ];
  const [nncfConfig, adapterConfigHash, adapterWeightsHash, validation] = blobs.map(sha256);
  const setup: EvalSetup = {
    format: 'lonas-eval-setup/1',
    task: config.task,
    model: {
      path: path.resolve(config.model),
      ...(config.tokenizer === undefined ? {} : { tokenizer: path.resolve(config.tokenizer) }),
      identity,
    },
    nncfConfig,
    adapter: { config: adapterConfigHash, weights: adapterWeightsHash },
    validation,
    lora: config.lora,
    ...(config.loraDefaults === undefined ? {} : { loraDefaults: config.loraDefaults }),
    seed: config.training.seed,
    evalBatchSize: config.evalBatchSize,
  };
  const json = JSON.stringify(setup);
  const hash = sha256(json);
  return {
    hash,
    setup,
    store: async (redis) => {
      for (const blob of blobs) await putBlob(redis, blob);
      await redis.set(setupKey(hash), json, 'EX', BLOB_TTL_SECONDS);
    },
    isStored: async (redis) => {
      if ((await redis.exists(setupKey(hash))) === 0) return false;
      for (const blobHash of [nncfConfig, adapterConfigHash, adapterWeightsHash, validation]) {
        if (!(await hasBlob(redis, blobHash))) return false;
      }
      return true;
    },
  };
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
  writeFileAtomic(path.join(adapterFolder, ADAPTER_CONFIG), await getBlob(redis, setup.adapter.config, ADAPTER_CONFIG));
  writeFileAtomic(
    path.join(adapterFolder, ADAPTER_WEIGHTS),
    await getBlob(redis, setup.adapter.weights, ADAPTER_WEIGHTS),
  );
  const records = JSON.parse((await getBlob(redis, setup.validation, 'the validation records')).toString('utf8'));
  if (!Array.isArray(records)) throw new Error('the validation records are not a JSON array');
  return { nncfConfig, adapterFolder, records };
}
