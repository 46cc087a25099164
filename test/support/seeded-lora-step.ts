import * as tf from '@tensorflow/tfjs-core';
import * as path from 'path';
import { openCheckpoint } from '../../src/models/checkpoint';
import type { LoadedModel } from '../../src/models/registry';
import { readNasConfig } from '../../src/nas/nas-config';
import { openSuperNetwork } from '../../src/nas/open-super-network';
import { collate, type MicroBatch } from '../../src/train/batches';
import { taskLoss } from '../../src/train/task-loss';
import { SeededRandom } from '../../src/util/seeded-random';

/**
 * The tiny `family` super-network (from `folder`) on its heuristic, narrowed subnet, training as a
 * run does (dropout on, with seeded masks), with seeded adapter values and a seeded batch of 3
 * uneven rows: the same numbers on every backend and kernel path.
 */
export function seededLoraStep(
  family: 'llama' | 'bert' | 'bloom',
  folder: string,
): { loaded: LoadedModel; variables: tf.Variable[]; batch: MicroBatch; loss: (batch: MicroBatch) => tf.Scalar } {
  const config = readNasConfig(path.join(__dirname, '..', '..', 'configs', 'tiny', `${family}.json`));
  const { loaded, network } = openSuperNetwork(openCheckpoint(folder), config, { seed: 3 });
  network.activate(network.plan.space.heuristic());
  network.setDropoutSeeds(() => 11);
  const random = new SeededRandom(5);
  const variables = network.trainableVariables();
  // LoRA B starts at zero, which would leave every A gradient zero: give both values.
  for (const v of variables) v.assign(tf.randomNormal(v.shape, 0, 0.3, 'float32', random.below(1e6)));
  const vocab = loaded.model.config.vocabSize;
  const batch = collate(
    Array.from({ length: 3 }, (_, i) => ({
      inputIds: Array.from({ length: 9 + i }, () => 3 + random.below(vocab - 3)),
      label: i % 3,
    })),
    { padTokenId: 0, paddingSide: family === 'bert' ? 'right' : 'left' },
  );
  return { loaded, variables, batch, loss: taskLoss(loaded) };
}
