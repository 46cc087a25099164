import * as tf from '@tensorflow/tfjs-core';
import type { LoadedModel } from '../models/registry';
import type { MicroBatch } from './batches';
import { causalLmLoss } from './losses';

/** The training loss of a model's task: causal LM cross-entropy, or BERT's classification/regression loss. */
export function taskLoss(loaded: LoadedModel): (batch: MicroBatch) => tf.Scalar {
  return (batch) =>
    tf.tidy(() => {
      const inputIds = tf.tensor2d(batch.inputIds, undefined, 'int32');
      const attentionMask = tf.tensor2d(batch.attentionMask, undefined, 'int32');
      if (loaded.kind === 'causal-lm') {
        return causalLmLoss(loaded.model.forward({ inputIds, attentionMask }).logits, batch.labels);
      }
      const tokenTypeIds = tf.tensor2d(batch.tokenTypeIds, undefined, 'int32');
      const logits = loaded.model.forward({ inputIds, attentionMask, tokenTypeIds });
      const labels = tf.tensor1d(batch.classLabels, loaded.model.config.numLabels === 1 ? 'float32' : 'int32');
      return loaded.model.loss(logits, labels);
    });
}
