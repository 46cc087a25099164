import { wordPieceTokenizerJson } from '../../src/tokenizers/wordpiece-vocab';

/**
 * Small tokenizer.json files in the formats the three families ship: LLaMA's SentencePiece-style
 * BPE with byte fallback, BLOOM's byte-level BPE, BERT's WordPiece. Their vocabularies are tiny
 * but complete: any text encodes (through byte tokens, byte-level characters or [UNK]).
 */

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
const SYMBOLS = "0123456789.,!?'";
const WORDS = ['the', 'and', 'cat', 'sat', 'on', 'mat', 'dog', 'ran', 'is', 'a'];

function special(id: number, content: string) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

/** Merges that build each word letter by letter (prefix + letter), as BPE training would. */
function wordMerges(words: string[], start: string): { tokens: string[]; merges: string[] } {
  const tokens: string[] = [];
  const merges: string[] = [];
  for (const word of words) {
    let piece = start + word[0];
    if (start !== '' && !tokens.includes(piece)) {
      tokens.push(piece);
      merges.push(`${start} ${word[0]}`);
    }
    for (const letter of word.slice(1)) {
      const next = piece + letter;
      if (!tokens.includes(next)) {
        tokens.push(next);
        merges.push(`${piece} ${letter}`);
      }
      piece = next;
    }
  }
  return { tokens, merges };
}

export function llamaTokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let byte = 0; byte < 256; byte++) vocab[`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + byte;
  const add = (token: string) => {
    if (!(token in vocab)) vocab[token] = Object.keys(vocab).length;
  };
  for (const character of `▁${LETTERS}${SYMBOLS}`) add(character);
  const { tokens, merges } = wordMerges(WORDS, '▁');
  tokens.forEach(add);
  const sequence = (id: string) => ({ Sequence: { id, type_id: 0 } });
  const bos = { SpecialToken: { id: '<s>', type_id: 0 } };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [bos, sequence('A')],
      pair: [bos, sequence('A'), bos, sequence('B')],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      vocab,
      merges,
    },
  };
}

/** GPT-2's reversible map from bytes to printable characters, used by byte-level BPE. */
function byteLevelAlphabet(): string[] {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  let extra = 0;
  return Array.from({ length: 256 }, (_, b) => String.fromCharCode(printable(b) ? b : 256 + extra++));
}

export function bloomTokenizerJson(): Record<string, unknown> {
  const specials = ['<unk>', '<s>', '</s>', '<pad>'];
  const vocab: Record<string, number> = Object.fromEntries(specials.map((s, i) => [s, i]));
  for (const character of byteLevelAlphabet()) vocab[character] = Object.keys(vocab).length;
  const space = byteLevelAlphabet()[32];
  const { tokens, merges } = wordMerges(WORDS, space);
  for (const token of tokens) vocab[token] = Object.keys(vocab).length;
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((s, i) => special(i, s)),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
}

export function bertTokenizerJson(): Record<string, unknown> {
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  for (const character of `${LETTERS}${SYMBOLS}`) vocab.push(character, `##${character}`);
  vocab.push(...WORDS);
  return wordPieceTokenizerJson(vocab, true);
}

export function vocabularySize(tokenizerJson: Record<string, unknown>): number {
  return Object.keys((tokenizerJson.model as { vocab: Record<string, number> }).vocab).length;
}
