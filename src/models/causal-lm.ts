import type * as tf from '@tensorflow/tfjs-core';
import type { KVCache } from '../nn/attention';
import type { Decoding } from './decoding';
import type { LinearRegistry } from '../nn/linear';

/** What generation and training need to know of a decoder-only model's configuration. */
export interface CausalLMConfig {
  modelType: string;
  vocabSize: number;
  maxPositions: number;
  bosTokenId?: number;
  /** Tokens that end a generated sequence. */
  eosTokenIds: number[];
  padTokenId?: number;
}

export interface CausalLMInput {
  /** int32 [batch, time]: the new tokens (all of them, or those after the cached ones). */
  inputIds: tf.Tensor2D;
  /** [batch, cached + time]: 1 for real tokens, 0 for padding. Omitted: all real. */
  attentionMask?: tf.Tensor2D;
  /** int32 [batch, time]. Omitted: cached + 0, 1, 2, ... */
  positionIds?: tf.Tensor2D;
  /** Keys and values of earlier tokens, from a previous call with `useCache`. */
  cache?: KVCache;
  /** Return the extended cache (the caller disposes the one it passed in). */
  useCache?: boolean;
  /** Compute logits for the last position only (generation). */
  lastPositionOnly?: boolean;
}

export interface CausalLMOutput {
  /** [batch, time or 1, vocab]. */
  logits: tf.Tensor3D;
  cache?: KVCache;
}

export interface CausalLM {
  readonly config: CausalLMConfig;
  /** Every linear layer by its Hugging Face module path. */
  readonly linears: LinearRegistry;
  forward(input: CausalLMInput): CausalLMOutput;
  /**
   * Decoding on host arrays for `rows` rows of up to `capacity` positions, where the model and
   * the current backend allow it (else undefined, and generation uses `forward`).
   */
  hostDecoding?(rows: number, capacity: number): Decoding | undefined;
  dispose(): void;
}
