import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../io/atomic-write';
import { writeSafetensors, type TensorToWrite } from '../io/safetensors';
import type { Checkpoint } from '../models/checkpoint';
import type { SubnetConfig } from './search-space';
import type { SuperNetwork } from './super-network';

const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.txt',
  'tokenizer.model',
];

/**
 * Writes a subnetwork as a standalone model: every linear layer physically cut to its active
 * widths (producers' first rows, consumers' first columns) with its adapter merged in
 * (W + alpha / r_max * A[:, :r] B[:r, :]), the other tensors copied, and config.json recording
 * the cut shapes (`lonas_linear_shapes`) and the subnet (`lonas_subnet`). lonas loads it like
 * any model folder.
 */
export async function exportCompressedModel(
  folder: string,
  checkpoint: Checkpoint,
  network: SuperNetwork,
  subnet: SubnetConfig,
): Promise<void> {
  const widths = network.plan.widthsFor(subnet);
  const { architecture } = network.plan;
  const tensors: Record<string, TensorToWrite> = {};
  const linearNames = new Set<string>();
  const shapes: Record<string, [number, number]> = {};
  for (const [modulePath, layer] of network.layers) {
    const active = widths.get(modulePath);
    if (active === undefined) continue;
    const names = [`${modulePath}.weight`, `${modulePath}.bias`];
    names.forEach((n) => linearNames.add(n));
    const untouched = layer.maxRank === 0 && !network.savedModules.has(modulePath);
    const full = active.inFeatures === layer.inFeatures && active.outFeatures === layer.outFeatures;
    // A tied lm_head has no tensor of its own: leave it tied when nothing changes it.
    if (untouched && full && !checkpoint.weights.names().includes(names[0])) continue;
    if (!full) shapes[modulePath] = [active.outFeatures, active.inFeatures];
    const [merged, bias] = tf.tidy(() => {
      const { inFeatures, outFeatures, rank } = active;
      let weight = tf.slice(layer.base.weight, [0, 0], [inFeatures, outFeatures]);
      if (layer.loraA !== undefined && layer.loraB !== undefined && rank > 0) {
        const delta = tf.matMul(
          tf.slice(layer.loraA, [0, 0], [inFeatures, rank]),
          tf.slice(layer.loraB, [0, 0], [rank, outFeatures]),
        );
        weight = tf.add(weight, tf.mul(delta, layer.scaling));
      }
      return [
        tf.transpose(weight),
        layer.base.bias === undefined ? undefined : tf.slice(layer.base.bias, 0, outFeatures),
      ];
    });
    // Read back without blocking (a GPU's tensors too).
    tensors[names[0]] = { shape: merged.shape, data: (await merged.data()) as Float32Array };
    if (bias !== undefined) tensors[names[1]] = { shape: bias.shape, data: (await bias.data()) as Float32Array };
    tf.dispose([merged, bias]);
  }
  for (const name of checkpoint.weights.names()) {
    if (linearNames.has(name) || linearNames.has(`${architecture.basePrefix}${name}`)) continue;
    const { shape, data, dtype } = checkpoint.weights.read(name);
    tensors[name] = dtype === 'float32' ? { shape, data } : { shape, data, dtype: 'I64' };
  }
  const config = { ...checkpoint.config, lonas_linear_shapes: shapes, lonas_subnet: subnet };
  fs.mkdirSync(folder, { recursive: true });
  writeSafetensors(path.join(folder, 'model.safetensors'), tensors, { format: 'pt' });
  writeFileAtomic(path.join(folder, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  for (const file of TOKENIZER_FILES) {
    const source = checkpoint.folder === undefined ? undefined : path.join(checkpoint.folder, file);
    if (source !== undefined && fs.existsSync(source)) fs.copyFileSync(source, path.join(folder, file));
  }
}
