/** A right-padded batch for a sequence classifier, as plain arrays: [rows][time] each. */
export interface ScoringBatch {
  inputIds: number[][];
  /** 1 for real tokens, 0 for padding. */
  attentionMask: number[][];
  tokenTypeIds: number[][];
}

/** A sequence classifier's forward in evaluation mode (no dropout), for scoring. */
export interface Scoring {
  /** Logits [rows * numLabels], row-major (read back from a GPU without blocking). */
  logits(batch: ScoringBatch): Promise<Float32Array>;
}
