import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as path from 'path';
import type { LoraPlan } from './elastic-plan';
import type { SuperNetwork } from './super-network';
import type { SubnetConfig } from './search-space';
import { writeFileAtomic } from '../io/atomic-write';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../io/safetensors';

/**
 * PEFT adapter files: adapter_config.json and adapter_model.safetensors with keys
 * `base_model.model.<module path>.lora_A.weight` [r, in], `...lora_B.weight` [out, r], and the
 * modules to save as `base_model.model.<module path>.weight` / `.bias`.
 */

export class AdapterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdapterError';
  }
}

const PREFIX = 'base_model.model.';
export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';

export interface AdapterConfigJson {
  peft_type: string;
  r: number;
  lora_alpha: number;
  lora_dropout?: number;
  target_modules: string[] | string;
  modules_to_save?: string[] | null;
  rank_pattern?: Record<string, number>;
  alpha_pattern?: Record<string, number>;
  task_type?: string;
  [key: string]: unknown;
}

/** A PEFT adapter as read: its config and its tensors grouped by module path. */
export interface PeftAdapter {
  config: AdapterConfigJson;
  /** Module path -> lora_A [r, in] and lora_B [out, r] (PyTorch layouts). */
  lora: Map<string, { a?: tf.Tensor2D; b?: tf.Tensor2D }>;
  /** Full weights of the modules to save, by state-dict name without the PEFT prefix. */
  saved: Map<string, tf.Tensor>;
}

function readAdapterConfig(folder: string): AdapterConfigJson {
  const configFile = path.join(folder, ADAPTER_CONFIG_FILE);
  if (!fs.existsSync(configFile)) throw new AdapterError(`${folder}: no ${ADAPTER_CONFIG_FILE}`);
  const config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as AdapterConfigJson;
  if (config.peft_type !== 'LORA') throw new AdapterError(`${configFile}: peft_type ${config.peft_type} is not LORA`);
  return config;
}

/**
 * The adapter settings a saved adapter was made with: as PeftModel.from_pretrained, a run that
 * loads an adapter takes r, alpha, dropout and the targets from its adapter_config.json.
 */
export function adapterLoraPlan(folder: string): LoraPlan {
  const config = readAdapterConfig(folder);
  return {
    targetModules: typeof config.target_modules === 'string' ? [config.target_modules] : config.target_modules,
    rank: config.r,
    alpha: config.lora_alpha,
    dropout: config.lora_dropout ?? 0,
    modulesToSave: config.modules_to_save ?? [],
  };
}

export function readPeftAdapter(folder: string): PeftAdapter {
  const config = readAdapterConfig(folder);
  const file = SafetensorsFile.open(path.join(folder, ADAPTER_WEIGHTS_FILE));
  const lora = new Map<string, { a?: tf.Tensor2D; b?: tf.Tensor2D }>();
  const saved = new Map<string, tf.Tensor>();
  for (const key of file.entries.keys()) {
    if (!key.startsWith(PREFIX)) throw new AdapterError(`${file.path}: tensor '${key}' lacks the '${PREFIX}' prefix`);
    const name = key.slice(PREFIX.length);
    const { data, shape, dtype } = file.read(key);
    // Checked on the file's values, before they go to a device that cannot be read back at once.
    if (!(data as Float32Array).every(Number.isFinite)) {
      throw new AdapterError(`${file.path}: '${name}' holds NaN or infinite values (a diverged run?)`);
    }
    const tensor = tf.tensor(data, shape, dtype);
    const match = /^(.*)\.lora_([AB])(?:\.default)?\.weight$/.exec(name);
    if (match === null) {
      saved.set(name.replace('.modules_to_save.default.', '.'), tensor);
      continue;
    }
    const entry = lora.get(match[1]) ?? {};
    entry[match[2] === 'A' ? 'a' : 'b'] = tensor as tf.Tensor2D;
    lora.set(match[1], entry);
  }
  return { config, lora, saved };
}

export interface SaveAdapterOptions {
  /** Recorded as base_model_name_or_path. */
  baseModel: string;
  taskType: 'CAUSAL_LM' | 'SEQ_CLS';
  /** Save this subnet's sub-adapter (ranks sliced, rank_pattern/alpha_pattern) instead of the super-adapter. */
  subnet?: SubnetConfig;
}

/**
 * Writes the super-adapter (every A and B at full size), or with `subnet` a sub-adapter: each A
 * and B cut to the layer's active rank, with rank_pattern and alpha_pattern chosen so stock PEFT
 * still scales by alpha / r_max (alpha' = alpha * r / r_max). Base widths are not part of an
 * adapter: a subnet's narrower base is exported as a compressed model.
 */
export async function saveAdapter(folder: string, network: SuperNetwork, options: SaveAdapterOptions): Promise<void> {
  const lora = network.plan.lora;
  if (lora === undefined) throw new AdapterError('the super-network has no LoRA adapters to save');
  const widths = options.subnet === undefined ? undefined : network.plan.widthsFor(options.subnet);
  // The tensors to write, read back together once made (from a GPU too).
  const toRead = new Map<string, tf.Tensor>();
  const rankPattern: Record<string, number> = {};
  const alphaPattern: Record<string, number> = {};
  const store = (name: string, tensor: tf.Tensor) => {
    toRead.set(`${PREFIX}${name}`, tf.keep(tensor));
  };
  for (const [modulePath, layer] of network.layers) {
    if (layer.loraA !== undefined && layer.loraB !== undefined) {
      const rank = widths?.get(modulePath)?.rank ?? layer.maxRank;
      tf.tidy(() => {
        store(`${modulePath}.lora_A.weight`, tf.transpose(tf.slice(layer.loraA as tf.Tensor2D, [0, 0], [-1, rank])));
        store(`${modulePath}.lora_B.weight`, tf.transpose(tf.slice(layer.loraB as tf.Tensor2D, [0, 0], [rank, -1])));
      });
      if (rank !== lora.rank) {
        rankPattern[modulePath] = rank;
        alphaPattern[modulePath] = (lora.alpha * rank) / lora.rank;
      }
    }
  }
  for (const [modulePath, { weight, bias }] of network.savedModules) {
    // Kept input-major in lonas; PyTorch stores [out, in].
    tf.tidy(() => store(`${modulePath}.weight`, tf.transpose(weight)));
    if (bias !== undefined) tf.tidy(() => store(`${modulePath}.bias`, tf.clone(bias)));
  }
  const config: AdapterConfigJson = {
    peft_type: 'LORA',
    task_type: options.taskType,
    base_model_name_or_path: options.baseModel,
    r: lora.rank,
    lora_alpha: lora.alpha,
    lora_dropout: lora.dropout,
    target_modules: lora.targetModules,
    modules_to_save: lora.modulesToSave.length > 0 ? lora.modulesToSave : null,
    rank_pattern: rankPattern,
    alpha_pattern: alphaPattern,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
  };
  const tensors: Record<string, TensorToWrite> = {};
  try {
    for (const [name, tensor] of toRead) {
      tensors[name] = { shape: tensor.shape, data: (await tensor.data()) as Float32Array };
    }
  } finally {
    tf.dispose([...toRead.values()]);
  }
  fs.mkdirSync(folder, { recursive: true });
  writeSafetensors(path.join(folder, ADAPTER_WEIGHTS_FILE), tensors, { format: 'pt' });
  writeFileAtomic(path.join(folder, ADAPTER_CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
}

/**
 * Loads a PEFT LoRA adapter into a super-network: a super-adapter as saved, or a sub-adapter
 * (smaller ranks, zero-padded back to r_max). Each module's B is rescaled so its own scaling
 * (alpha_pattern / rank_pattern, else lora_alpha / r) becomes the network's alpha / r_max.
 */
export function loadAdapter(folder: string, network: SuperNetwork): void {
  const adapter = readPeftAdapter(folder);
  const { config } = adapter;
  const where = path.join(folder, ADAPTER_WEIGHTS_FILE);
  try {
    for (const [modulePath, { a, b }] of adapter.lora) {
      const layer = network.layers.get(modulePath);
      if (layer?.loraA === undefined || layer.loraB === undefined) {
        throw new AdapterError(`${where}: '${modulePath}' has an adapter, but the super-network adapts no such layer`);
      }
      if (a === undefined || b === undefined)
        throw new AdapterError(`${where}: '${modulePath}' lacks lora_A or lora_B`);
      const rank = a.shape[0];
      const declared = config.rank_pattern?.[modulePath] ?? config.r;
      if (rank !== declared) {
        // PEFT builds each layer at its configured rank and refuses tensors of another.
        throw new AdapterError(
          `${where}: '${modulePath}' has lora_A of rank ${rank}, but adapter_config.json gives it r = ${declared}`,
        );
      }
      if (
        a.shape[1] !== layer.inFeatures ||
        b.shape[0] !== layer.outFeatures ||
        b.shape[1] !== rank ||
        rank > layer.maxRank
      ) {
        throw new AdapterError(
          `${where}: '${modulePath}' has lora_A [${a.shape}] and lora_B [${b.shape}]; expected [r, ${layer.inFeatures}] ` +
            `and [${layer.outFeatures}, r] with r <= ${layer.maxRank}`,
        );
      }
      const scaling =
        (config.alpha_pattern?.[modulePath] ?? config.lora_alpha) / (config.rank_pattern?.[modulePath] ?? config.r);
      const newA = tf.tidy(() =>
        tf.pad(tf.transpose(a), [
          [0, 0],
          [0, layer.maxRank - rank],
        ]),
      );
      const newB = tf.tidy(() =>
        tf.pad(tf.mul(tf.transpose(b), scaling / layer.scaling), [
          [0, layer.maxRank - rank],
          [0, 0],
        ]),
      );
      layer.loraA.assign(newA as tf.Tensor2D);
      layer.loraB.assign(newB as tf.Tensor2D);
      tf.dispose([newA, newB]);
    }
    for (const [name, tensor] of adapter.saved) {
      const [, modulePath, part] = /^(.*)\.(weight|bias)$/.exec(name) ?? [];
      const variable = network.savedModules.get(modulePath)?.[part as 'weight' | 'bias'];
      if (variable === undefined)
        throw new AdapterError(`${where}: '${name}' is saved, but the super-network trains no such tensor`);
      const value = tf.tidy(() => (tensor.rank === 2 ? tf.transpose(tensor) : tensor.clone()));
      if (!tf.util.arraysEqual(value.shape, variable.shape)) {
        throw new AdapterError(
          `${where}: '${name}' has shape [${tensor.shape}], expected [${[...variable.shape].reverse()}]`,
        );
      }
      variable.assign(value);
      value.dispose();
    }
  } finally {
    for (const { a, b } of adapter.lora.values()) tf.dispose([...(a ? [a] : []), ...(b ? [b] : [])]);
    tf.dispose([...adapter.saved.values()]);
  }
}
