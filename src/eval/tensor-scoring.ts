import * as tf from '@tensorflow/tfjs-core';
import type { BertForSequenceClassification } from '../models/bert';
import type { Scoring, ScoringBatch } from '../models/scoring';

/** Scoring through the model's tfjs forward: any backend, and any widths the forward accepts. */
export function tensorScoring(model: BertForSequenceClassification): Scoring {
  return {
    async logits(batch: ScoringBatch): Promise<Float32Array> {
      const logits = tf.tidy(() =>
        model.forward({
          inputIds: tf.tensor2d(batch.inputIds, undefined, 'int32'),
          attentionMask: tf.tensor2d(batch.attentionMask, undefined, 'int32'),
          tokenTypeIds: tf.tensor2d(batch.tokenTypeIds, undefined, 'int32'),
        }),
      );
      try {
        return (await logits.data()) as Float32Array;
      } finally {
        logits.dispose();
      }
    },
  };
}
