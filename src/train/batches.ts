import { IGNORE_INDEX } from './losses';
import { SeededRandom } from '../util/seeded-random';

/** One tokenised training example. */
export interface Example {
  inputIds: number[];
  /** Causal LM targets (IGNORE_INDEX where not learned); default: the input ids. */
  labels?: number[];
  tokenTypeIds?: number[];
  /** Sequence classification or regression target. */
  label?: number;
}

/** Padded micro-batch, as plain arrays (tensors are made where they are used). */
export interface MicroBatch {
  inputIds: number[][];
  attentionMask: number[][];
  labels: number[][];
  tokenTypeIds: number[][];
  classLabels: number[];
}

export interface CollateOptions {
  padTokenId: number;
  paddingSide: 'left' | 'right';
  /** Pad lengths up to a multiple (DataCollatorForSeq2Seq's pad_to_multiple_of=8). */
  padToMultipleOf?: number;
}

/** Pads a batch as DataCollatorForSeq2Seq does: inputs with the pad id, labels with IGNORE_INDEX. */
export function collate(examples: Example[], options: CollateOptions): MicroBatch {
  let width = Math.max(...examples.map((e) => e.inputIds.length));
  if (options.padToMultipleOf !== undefined)
    width = Math.ceil(width / options.padToMultipleOf) * options.padToMultipleOf;
  const pad = <T>(row: T[], value: T): T[] => {
    const fill = new Array<T>(width - row.length).fill(value);
    return options.paddingSide === 'left' ? [...fill, ...row] : [...row, ...fill];
  };
  return {
    inputIds: examples.map((e) => pad(e.inputIds, options.padTokenId)),
    attentionMask: examples.map((e) =>
      pad(
        e.inputIds.map(() => 1),
        0,
      ),
    ),
    labels: examples.map((e) => pad(e.labels ?? e.inputIds, IGNORE_INDEX)),
    tokenTypeIds: examples.map((e) => pad(e.tokenTypeIds ?? e.inputIds.map(() => 0), 0)),
    classLabels: examples.map((e) => e.label ?? 0),
  };
}

/** The example order of an epoch: a permutation seeded by (seed, epoch), so any epoch can be replayed. */
export function epochOrder(count: number, seed: number, epoch: number): number[] {
  const random = new SeededRandom((seed * 1000003 + epoch * 7919) >>> 0);
  const order = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = random.below(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** Micro-batches per epoch (the last one may be smaller, as a DataLoader without drop_last). */
export function batchesPerEpoch(count: number, batchSize: number): number {
  return Math.ceil(count / batchSize);
}

/** The examples of micro-batch `index` of an epoch. */
export function batchExamples<T>(examples: T[], order: number[], batchSize: number, index: number): T[] {
  return order.slice(index * batchSize, (index + 1) * batchSize).map((i) => examples[i]);
}
