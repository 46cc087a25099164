/** What lonas needs of a tokenizer, whatever file it came from. */
export interface TextTokenizer {
  readonly vocabSize: number;
  readonly bosTokenId?: number;
  readonly eosTokenId?: number;
  readonly padTokenId?: number;
  /** The ids of `text`, without special tokens. */
  tokenize(text: string): number[];
  /** Wraps content ids with the model's special tokens: [CLS] a [SEP] (b [SEP]), or BOS a (b). */
  addSpecialTokens(a: number[], b?: number[]): { ids: number[]; typeIds: number[] };
  decode(ids: number[], options?: { skipSpecialTokens?: boolean }): string;
}

export class TokenizerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenizerError';
  }
}
