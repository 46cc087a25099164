import type { Checkpoint } from '../../src/models/checkpoint';
import type { WeightSource } from '../../src/models/weights';
import type { TensorValues } from '../../src/io/safetensors';
import { llamaConfigJson } from '../tiny-checkpoints/make';

/** A LLaMA shape by its config.json sizes. */
export interface LlamaSizes {
  hidden: number;
  inner: number;
  layers: number;
  heads: number;
  kvHeads: number;
  vocab: number;
}

/**
 * A LLaMA checkpoint of random weights made as each tensor is read, so a billion-parameter shape
 * needs no file and no second copy: linear weights and embeddings uniform with std 0.02, norms 1.
 */
export function randomLlama(sizes: LlamaSizes, maxPositions = 2048): Checkpoint {
  const { hidden, inner, layers, heads, kvHeads, vocab } = sizes;
  const kvWidth = (hidden / heads) * kvHeads;
  const shapes = new Map<string, number[]>([['model.embed_tokens.weight', [vocab, hidden]]]);
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}`;
    shapes.set(`${p}.input_layernorm.weight`, [hidden]);
    shapes.set(`${p}.self_attn.q_proj.weight`, [hidden, hidden]);
    shapes.set(`${p}.self_attn.k_proj.weight`, [kvWidth, hidden]);
    shapes.set(`${p}.self_attn.v_proj.weight`, [kvWidth, hidden]);
    shapes.set(`${p}.self_attn.o_proj.weight`, [hidden, hidden]);
    shapes.set(`${p}.post_attention_layernorm.weight`, [hidden]);
    shapes.set(`${p}.mlp.gate_proj.weight`, [inner, hidden]);
    shapes.set(`${p}.mlp.up_proj.weight`, [inner, hidden]);
    shapes.set(`${p}.mlp.down_proj.weight`, [hidden, inner]);
  }
  shapes.set('model.norm.weight', [hidden]);
  shapes.set('lm_head.weight', [vocab, hidden]);
  let state = 12345;
  const bound = 0.02 * Math.sqrt(3);
  const weights: WeightSource = {
    description: `random LLaMA (${hidden} x ${layers})`,
    names: () => [...shapes.keys()],
    read(name: string): TensorValues & { shape: number[] } {
      const shape = shapes.get(name) as number[];
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      if (name.endsWith('norm.weight')) data.fill(1);
      else {
        for (let i = 0; i < data.length; i++) {
          state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
          data[i] = (state / 2 ** 32 - 0.5) * 2 * bound;
        }
      }
      return { dtype: 'float32', data, shape };
    },
  };
  const config = llamaConfigJson({ ...sizes, maxPositions }, 1e-5);
  return { location: weights.description, config, weights };
}
