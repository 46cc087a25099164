import { bertNormalizer, specialTokenEntries } from '../../src/tokenizers/wordpiece-vocab';

const SPECIALS = ['<unk>', '<s>', '</s>', '<pad>'];

/** Words as BertPreTokenizer splits them (runs of letters and digits; each punctuation mark alone), lower-cased. */
export function wordsOf(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu) ?? [];
}

/**
 * A word-level tokenizer.json covering every word of `texts`: a WordPiece model whose vocabulary
 * is whole words (WordPiece is what @huggingface/tokenizers runs that splits no known word),
 * lower-casing, BOS before each sequence, LLaMA's special-token ids.
 */
export function wordTokenizerJson(texts: string[]): {
  tokenizer: Record<string, unknown>;
  config: Record<string, unknown>;
} {
  const words = [...new Set(texts.flatMap(wordsOf))].sort();
  const vocab = Object.fromEntries([...SPECIALS, ...words].map((token, id) => [token, id]));
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specialTokenEntries(vocab, SPECIALS),
    normalizer: bertNormalizer(true),
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [vocab['<s>']], tokens: ['<s>'] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '<unk>',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  };
  const config = { bos_token: '<s>', eos_token: '</s>', pad_token: '<pad>', unk_token: '<unk>', model_max_length: 128 };
  return { tokenizer, config };
}
