import * as fs from 'fs';
import * as path from 'path';
import type { WeightSource } from './weights';
import { CheckpointError } from './weights';
import { SafetensorsFile, type TensorValues } from '../io/safetensors';

/**
 * A Hugging Face model folder: config.json and its weights in model.safetensors or in shards
 * listed by model.safetensors.index.json. Half-precision weights are upcast to float32 as read.
 */
export class HfCheckpoint implements WeightSource {
  private readonly fileOf = new Map<string, SafetensorsFile>();

  private constructor(
    readonly description: string,
    readonly config: Record<string, unknown>,
    files: SafetensorsFile[],
    weightMap?: Record<string, string>,
  ) {
    const byName = new Map(files.map((f) => [path.basename(f.path), f]));
    if (weightMap !== undefined) {
      for (const [tensor, file] of Object.entries(weightMap)) {
        const shard = byName.get(file) as SafetensorsFile;
        if (!shard.has(tensor))
          throw new CheckpointError(`${description}: the index puts '${tensor}' in ${file}, which lacks it`);
        this.fileOf.set(tensor, shard);
      }
    } else {
      for (const file of files) for (const tensor of file.entries.keys()) this.fileOf.set(tensor, file);
    }
  }

  static open(folder: string): HfCheckpoint {
    if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory()) {
      throw new CheckpointError(`${folder}: not a model folder`);
    }
    const configPath = path.join(folder, 'config.json');
    if (!fs.existsSync(configPath)) throw new CheckpointError(`${folder}: no config.json`);
    let config: Record<string, unknown>;
    try {
      config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
    } catch (error) {
      throw new CheckpointError(`${configPath}: not valid JSON (${(error as Error).message})`);
    }
    const indexPath = path.join(folder, 'model.safetensors.index.json');
    const singlePath = path.join(folder, 'model.safetensors');
    if (fs.existsSync(indexPath)) {
      const index = JSON.parse(fs.readFileSync(indexPath, 'utf8')) as { weight_map?: Record<string, string> };
      if (index.weight_map === undefined) throw new CheckpointError(`${indexPath}: no weight_map`);
      const shards = [...new Set(Object.values(index.weight_map))].map((file) =>
        SafetensorsFile.open(path.join(folder, file)),
      );
      return new HfCheckpoint(folder, config, shards, index.weight_map);
    }
    if (fs.existsSync(singlePath)) return new HfCheckpoint(folder, config, [SafetensorsFile.open(singlePath)]);
    const present = fs.readdirSync(folder).filter((f) => /\.(bin|pt|pth|ckpt|h5|msgpack)$/.test(f));
    throw new CheckpointError(
      `${folder}: no model.safetensors or model.safetensors.index.json` +
        (present.length > 0
          ? ` (found ${present.join(', ')}: lonas reads safetensors only; convert with safetensors' convert tool)`
          : ''),
    );
  }

  names(): string[] {
    return [...this.fileOf.keys()];
  }

  read(name: string): TensorValues & { shape: number[] } {
    const file = this.fileOf.get(name);
    if (file === undefined) throw new CheckpointError(`${this.description}: no tensor named '${name}'`);
    return file.read(name);
  }
}
