import * as fs from 'fs';
import { HfCheckpoint } from './hf-checkpoint';
import { readLlama2cCheckpoint } from './llama2c-checkpoint';
import { CheckpointError, type WeightSource } from './weights';

/** A checkpoint as config.json plus tensors by Hugging Face name, whatever its file format. */
export interface Checkpoint {
  location: string;
  config: Record<string, unknown>;
  weights: WeightSource;
  /** The folder holding it (tokenizer files may sit beside the weights). */
  folder?: string;
}

/** Opens a Hugging Face model folder, or a llama2.c .bin converted to Hugging Face names. */
export function openCheckpoint(location: string): Checkpoint {
  if (!fs.existsSync(location)) throw new CheckpointError(`${location}: no such model folder or checkpoint file`);
  if (fs.statSync(location).isDirectory()) {
    const checkpoint = HfCheckpoint.open(location);
    return { location, config: checkpoint.config, weights: checkpoint, folder: location };
  }
  if (!location.endsWith('.bin'))
    throw new CheckpointError(`${location}: a model is a Hugging Face folder or a llama2.c .bin file`);
  const { configJson, weights } = readLlama2cCheckpoint(location);
  return { location, config: configJson, weights };
}
