import * as tf from '@tensorflow/tfjs-core';
import type { CausalLM } from '../models/causal-lm';
import type { Decoding, DecodeStep } from '../models/decoding';
import { disposeCache, type KVCache } from '../nn/attention';
import { tidy } from '../nn/tidy';

/** Decoding through the model's tfjs forward with its key/value cache: any model, any backend. */
export function tensorDecoding(model: CausalLM): Decoding {
  let cache: KVCache | undefined;
  return {
    async next(step: DecodeStep): Promise<Float32Array> {
      const out = tidy(() => {
        const rows = step.tokens.length;
        const time = step.tokens[0].length;
        const { logits, cache: next } = model.forward({
          inputIds: tf.tensor2d(step.tokens, [rows, time], 'int32'),
          attentionMask: tf.tensor2d(step.mask, [rows, step.mask[0].length], 'int32'),
          positionIds: tf.tensor2d(step.positions, [rows, time], 'int32'),
          cache,
          useCache: true,
          lastPositionOnly: true,
        });
        return { logProbs: tf.logSoftmax(tf.reshape(logits, [rows, -1])), cache: next as KVCache };
      });
      disposeCache(cache);
      cache = out.cache;
      // One flat read: nested arrays of [rows, vocab] numbers cost more than the step itself.
      try {
        return (await out.logProbs.data()) as Float32Array;
      } finally {
        out.logProbs.dispose();
      }
    },
    reorder(order: number[]): void {
      if (cache === undefined) return;
      const index = tf.tensor1d(order, 'int32');
      const reordered = cache.map((layer) => ({
        key: tf.gather(layer.key, index),
        value: tf.gather(layer.value, index),
      }));
      index.dispose();
      disposeCache(cache);
      cache = reordered;
    },
    dispose(): void {
      disposeCache(cache);
      cache = undefined;
    },
  };
}
