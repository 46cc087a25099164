import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { EvaluatorConfig } from '../experiment/evaluator-config';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, saveAdapter } from '../nas/peft-adapter';
import type { ModelIdentity } from '../models/model-identity';
import type { SuperNetwork } from '../nas/super-network';
import { sha256 } from './blob-store';

/**
 * Everything a queue worker needs to score a search's candidates exactly as the search would,
 * besides its own copy of the base model: the task's settings, the NNCF config, the super-adapter
 * and the validation records (the last three as blobs, by content hash), and the identity of
 * the base model it must hold. Stored in Redis under its own SHA-256, which the jobs name.
 */
export interface EvalSetup {
  format: 'lonas-eval-setup/1';
  /** The task's settings (its file paths are the search machine's: workers score `validation`). */
  task: EvaluatorConfig['task'];
  model: { path: string; tokenizer?: string; identity: ModelIdentity };
  /** Blob hashes: the NNCF config file, the adapter's two files, the validation records as JSON. */
  nncfConfig: string;
  adapter: { config: string; weights: string };
  validation: string;
  lora: EvaluatorConfig['lora'];
  seed: number;
  evalBatchSize: number;
}

/** A setup ready to store: its JSON's hash, the setup, and the blobs it names. */
export interface PublishedSetup {
  hash: string;
  setup: EvalSetup;
  blobs: Array<{ hash: string; bytes: Uint8Array }>;
}

/**
 * The setup of a search over `network`'s current adapter (serialised as the PEFT files a worker
 * loads), scored on `records` with the experiment's task settings.
 */
export async function prepareSetup(
  config: EvaluatorConfig,
  network: SuperNetwork,
  adapterTaskType: 'CAUSAL_LM' | 'SEQ_CLS',
  records: unknown[],
  identity: ModelIdentity,
): Promise<PublishedSetup> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'lonas-setup-'));
  let adapterConfig: Buffer;
  let adapterWeights: Buffer;
  try {
    await saveAdapter(folder, network, { baseModel: config.model, taskType: adapterTaskType });
    adapterConfig = fs.readFileSync(path.join(folder, ADAPTER_CONFIG_FILE));
    adapterWeights = fs.readFileSync(path.join(folder, ADAPTER_WEIGHTS_FILE));
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
  const blobs = [
    // An inline config travels as its JSON, as a file would.
    typeof config.nncfConfig === 'string'
      ? fs.readFileSync(config.nncfConfig)
      : Buffer.from(JSON.stringify(config.nncfConfig)),
    adapterConfig,
    adapterWeights,
    Buffer.from(JSON.stringify(records)),
  ];
  const hashes = blobs.map(sha256);
  const [nncfConfig, adapterConfigHash, adapterWeightsHash, validation] = hashes;
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
    seed: config.seed,
    evalBatchSize: config.evalBatchSize,
  };
  return { hash: sha256(JSON.stringify(setup)), setup, blobs: blobs.map((bytes, i) => ({ hash: hashes[i], bytes })) };
}
