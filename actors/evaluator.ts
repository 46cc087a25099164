import type * as tf from '@tensorflow/tfjs-core';
import { lastValueFrom, reduce, type Observable } from 'rxjs';
import type { EvaluationEvent } from '../src/events';
import type { SubnetConfig } from '../src/nas/search-space';
import type { SuperNetwork } from '../src/nas/super-network';
import type { MicroBatch } from '../src/train/batches';

/** How a task scores one batch: a sum to average and how many examples it covers. */
export type BatchScore<T = MicroBatch> = (batch: T) => { total: number; count: number };

/** A subnet to score over a stream of batches (tensors, prompts, whatever the task's score takes). */
export interface EvaluatorInput<T = MicroBatch> {
  network: SuperNetwork;
  subnet: SubnetConfig;
  batches: Observable<T>;
  metric: string;
  score: BatchScore<T>;
}

/** A loss as a batch score: the mean loss weighted by batch size. */
export function lossScore(loss: (batch: MicroBatch) => tf.Scalar): BatchScore {
  return (batch) => {
    const value = loss(batch);
    const mean = value.dataSync()[0];
    value.dispose();
    return { total: mean * batch.inputIds.length, count: batch.inputIds.length };
  };
}

/**
 * Evaluates one subnet on a stream of batches: activates it (dropout off), scores each batch as
 * it arrives, and resolves to the averaged metric as an evaluation event.
 */
export async function evaluate<T>({
  network,
  subnet,
  batches,
  metric,
  score,
}: EvaluatorInput<T>): Promise<EvaluationEvent> {
  network.activate(subnet);
  network.setDropoutSeeds(undefined);
  const sum = await lastValueFrom(
    batches.pipe(
      reduce(
        (acc, batch) => {
          const { total, count } = score(batch);
          return { total: acc.total + total, count: acc.count + count };
        },
        { total: 0, count: 0 },
      ),
    ),
  );
  if (sum.count === 0) throw new Error('evaluate: the evaluation stream was empty');
  return {
    type: 'eval.result',
    subnet: Object.fromEntries(Object.entries(subnet)),
    metric,
    value: sum.total / sum.count,
    examples: sum.count,
  };
}
