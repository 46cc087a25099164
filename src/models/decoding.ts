/** One decoding step's inputs for all rows. */
export interface DecodeStep {
  /** [rows][time]: the new tokens (the left-padded prompts first, then one token a step). */
  tokens: number[][];
  /** [rows][past + time]: 1 for real tokens, 0 for padding, over everything fed so far. */
  mask: number[][];
  /** [rows][time]: each new token's position, counting real tokens only. */
  positions: number[][];
}

/**
 * Incremental decoding of a batch of rows: each step feeds new tokens and returns the
 * next-token log-probabilities; the keys and values of earlier steps stay inside.
 */
export interface Decoding {
  /** The last position's log-probabilities, [rows * vocab] row-major (read back from a GPU without blocking). */
  next(step: DecodeStep): Promise<Float32Array>;
  /** Keeps the rows `order` names, in that order (beam search's survivors). */
  reorder(order: number[]): void;
  dispose(): void;
}
