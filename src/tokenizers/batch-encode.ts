import type { TextTokenizer } from './text-tokenizer';

export interface BatchEncodeOptions {
  /** Add the model's special tokens (default true). */
  addSpecialTokens?: boolean;
  /** 'longest' pads to the longest sequence, 'max_length' to maxLength, 'none' leaves ragged rows. */
  padding?: 'longest' | 'max_length' | 'none';
  /** Which end gets the padding (decoder-only generation pads on the left). */
  paddingSide?: 'left' | 'right';
  /** Cut sequences to maxLength, special tokens included (for pairs, the longer one first). */
  truncation?: boolean;
  maxLength?: number;
  /** Round padded lengths up to a multiple (8 for tensor-core friendly shapes). */
  padToMultipleOf?: number;
  /** Used where the tokenizer has no pad token (0, as LoNAS sets for LLaMA). */
  padTokenId?: number;
}

export interface BatchEncoding {
  inputIds: number[][];
  attentionMask: number[][];
  tokenTypeIds: number[][];
}

/**
 * What HF's longest_first truncation keeps of a pair of `lengthA` and `lengthB` tokens within
 * `budget`, as the Rust tokenizers behind transformers' fast tokenizers (run_glue.py's) compute it:
 * the shorter whole when the longer can take the whole cut, else floor(budget / 2) tokens for the
 * shorter (the first, on a tie) and the rest for the other.
 */
export function longestFirst(lengthA: number, lengthB: number, budget: number): [number, number] {
  if (lengthA + lengthB <= budget) return [lengthA, lengthB];
  const swap = lengthA > lengthB;
  let [n1, n2] = swap ? [lengthB, lengthA] : [lengthA, lengthB];
  n2 = n1 > budget ? n1 : Math.max(n1, budget - n1);
  if (n1 + n2 > budget) {
    n1 = Math.floor(budget / 2);
    n2 = n1 + (budget % 2);
  }
  const [keepA, keepB] = swap ? [n2, n1] : [n1, n2];
  return [Math.min(lengthA, keepA), Math.min(lengthB, keepB)];
}

/** Cuts a (and b) to `budget` tokens together, as HF's longest_first. */
export function truncatePair(a: number[], b: number[] | undefined, budget: number): [number[], number[] | undefined] {
  if (b === undefined) return [a.slice(0, budget), undefined];
  const [lengthA, lengthB] = longestFirst(a.length, b.length, budget);
  return [a.slice(0, lengthA), b.slice(0, lengthB)];
}

/**
 * Encodes a batch of texts (or text pairs) into equal-length rows with attention masks and
 * token type ids, the way Hugging Face tokenizers' __call__ does.
 */
export function batchEncode(
  tokenizer: TextTokenizer,
  texts: Array<string | [string, string]>,
  options: BatchEncodeOptions = {},
): BatchEncoding {
  const { addSpecialTokens = true, padding = 'longest', paddingSide = 'right', truncation = false } = options;
  const { maxLength, padToMultipleOf } = options;
  if ((truncation || padding === 'max_length') && maxLength === undefined) {
    throw new Error(`batchEncode: ${truncation ? 'truncation' : "padding 'max_length'"} needs maxLength`);
  }
  const rows = texts.map((text) => {
    const [first, second] = typeof text === 'string' ? [text, undefined] : text;
    let a = tokenizer.tokenize(first);
    let b = second === undefined ? undefined : tokenizer.tokenize(second);
    if (truncation && maxLength !== undefined) {
      const specials = addSpecialTokens
        ? tokenizer.addSpecialTokens([], b === undefined ? undefined : []).ids.length
        : 0;
      [a, b] = truncatePair(a, b, Math.max(0, maxLength - specials));
    }
    if (addSpecialTokens) return tokenizer.addSpecialTokens(a, b);
    return { ids: [...a, ...(b ?? [])], typeIds: [...a.map(() => 0), ...(b ?? []).map(() => 1)] };
  });
  let width = padding === 'max_length' ? (maxLength as number) : Math.max(0, ...rows.map((r) => r.ids.length));
  if (padToMultipleOf !== undefined && padding !== 'none') width = Math.ceil(width / padToMultipleOf) * padToMultipleOf;
  const padId = tokenizer.padTokenId ?? options.padTokenId ?? 0;
  const pad = <T>(row: T[], value: T): T[] => {
    if (padding === 'none' || row.length >= width) return row;
    const fill = new Array<T>(width - row.length).fill(value);
    return paddingSide === 'left' ? [...fill, ...row] : [...row, ...fill];
  };
  return {
    inputIds: rows.map((r) => pad(r.ids, padId)),
    attentionMask: rows.map((r) =>
      pad(
        r.ids.map(() => 1),
        0,
      ),
    ),
    tokenTypeIds: rows.map((r) => pad(r.typeIds, 0)),
  };
}
