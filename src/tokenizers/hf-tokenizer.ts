import { Tokenizer } from '@huggingface/tokenizers';
import { TokenizerError, type TextTokenizer } from './text-tokenizer';

/** tokenizer_config.json names special tokens as strings or as {content} objects. */
type TokenName = string | { content: string } | null | undefined;

export interface TokenizerConfigJson {
  bos_token?: TokenName;
  eos_token?: TokenName;
  pad_token?: TokenName;
  [key: string]: unknown;
}

interface PostProcessed {
  tokens: string[];
  tokens_pair?: string[];
  token_type_ids?: number[];
}

/** A Hugging Face tokenizer.json (any model: WordPiece, BPE, Unigram), run by @huggingface/tokenizers offline. */
export class HfTokenizer implements TextTokenizer {
  readonly vocabSize: number;
  readonly bosTokenId?: number;
  readonly eosTokenId?: number;
  readonly padTokenId?: number;
  private readonly tokenizer: Tokenizer;
  private readonly specialIds: Set<number>;

  constructor(
    tokenizerJson: Record<string, unknown>,
    config: TokenizerConfigJson,
    readonly description: string,
  ) {
    try {
      this.tokenizer = new Tokenizer(tokenizerJson, config);
    } catch (error) {
      throw new TokenizerError(`${description}: not a usable tokenizer.json (${(error as Error).message})`);
    }
    this.vocabSize = this.tokenizer.get_vocab(true).size;
    const added = [...this.tokenizer.get_added_tokens_decoder().entries()];
    this.specialIds = new Set(added.filter(([, token]) => token.special).map(([id]) => id));
    const idOf = (name: TokenName, fallbacks: string[]) => {
      const content = typeof name === 'string' ? name : name?.content;
      for (const candidate of content !== undefined ? [content] : fallbacks) {
        const id = this.tokenizer.token_to_id(candidate);
        if (id !== undefined) return id;
      }
      return undefined;
    };
    this.bosTokenId = idOf(config.bos_token, ['<s>', '<|begin_of_text|>']);
    this.eosTokenId = idOf(config.eos_token, ['</s>', '<|end_of_text|>', '<|endoftext|>']);
    this.padTokenId = idOf(config.pad_token, ['[PAD]', '<pad>']);
  }

  tokenize(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  addSpecialTokens(a: number[], b?: number[]): { ids: number[]; typeIds: number[] } {
    const processor = this.tokenizer.post_processor as unknown as {
      post_process(tokens: string[], pair: string[] | null, addSpecial: boolean): PostProcessed;
    } | null;
    if (processor === null) {
      return { ids: [...a, ...(b ?? [])], typeIds: [...a.map(() => 0), ...(b ?? []).map(() => 1)] };
    }
    const names = (ids: number[]) => ids.map((id) => this.tokenizer.id_to_token(id) as string);
    const out = processor.post_process(names(a), b === undefined ? null : names(b), true);
    const tokens = [...out.tokens, ...(out.tokens_pair ?? [])];
    const ids = tokens.map((token) => {
      const id = this.tokenizer.token_to_id(token);
      if (id === undefined)
        throw new TokenizerError(`${this.description}: special token '${token}' is not in the vocabulary`);
      return id;
    });
    return { ids, typeIds: out.token_type_ids ?? ids.map(() => 0) };
  }

  decode(ids: number[], options: { skipSpecialTokens?: boolean } = {}): string {
    const kept = options.skipSpecialTokens ? ids.filter((id) => !this.specialIds.has(id)) : ids;
    // Nothing to decode (a generation of only special tokens) is the empty text, not an error.
    return kept.length === 0 ? '' : this.tokenizer.decode(kept, { skip_special_tokens: false });
  }
}
