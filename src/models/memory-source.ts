import type { WeightSource } from './weights';
import type { TensorValues } from '../io/safetensors';

/** Tensors already in memory under their Hugging Face names (a converted checkpoint). */
export class MemorySource implements WeightSource {
  constructor(
    readonly description: string,
    private readonly tensors: Map<string, { shape: number[]; data: Float32Array }>,
  ) {}

  names(): string[] {
    return [...this.tensors.keys()];
  }

  read(name: string): TensorValues & { shape: number[] } {
    const tensor = this.tensors.get(name);
    if (tensor === undefined) throw new Error(`${this.description}: no tensor named '${name}'`);
    return { dtype: 'float32', data: tensor.data, shape: tensor.shape };
  }
}
