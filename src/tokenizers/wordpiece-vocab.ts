import * as fs from 'fs';
import { HfTokenizer } from './hf-tokenizer';
import { TokenizerError } from './text-tokenizer';

const BERT_SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/** tokenizer.json's `added_tokens` for special tokens of a vocabulary. */
export function specialTokenEntries(vocab: Record<string, number>, specials: string[]): Array<Record<string, unknown>> {
  return specials.map((content) => ({
    id: vocab[content],
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
}

/** BERT's normaliser: clean text, CJK spacing, optional lower-casing and accent stripping with it. */
export function bertNormalizer(lowercase: boolean): Record<string, unknown> {
  return { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase };
}

/**
 * A BERT vocab.txt (one WordPiece token per line, id = line number) as the tokenizer.json that
 * Hugging Face writes for BertTokenizerFast: Bert normaliser (clean text, CJK spacing, optional
 * lower-casing and accent stripping), Bert pre-tokeniser, WordPiece with "##", and the
 * [CLS] A [SEP] B [SEP] template.
 */
export function wordPieceTokenizerJson(vocabLines: string[], lowercase: boolean): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  vocabLines.forEach((token, id) => {
    if (!(token in vocab)) vocab[token] = id;
  });
  for (const special of BERT_SPECIALS) {
    if (!(special in vocab)) throw new TokenizerError(`vocab.txt has no ${special} token`);
  }
  const special = (id: string, typeId: number) => ({ SpecialToken: { id, type_id: typeId } });
  const sequence = (id: string, typeId: number) => ({ Sequence: { id, type_id: typeId } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specialTokenEntries(vocab, BERT_SPECIALS),
    normalizer: bertNormalizer(lowercase),
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0)],
      pair: [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0), sequence('B', 1), special('[SEP]', 1)],
      special_tokens: Object.fromEntries(['[CLS]', '[SEP]'].map((t) => [t, { id: t, ids: [vocab[t]], tokens: [t] }])),
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  };
}

export function readWordPieceVocab(path: string, lowercase = true): HfTokenizer {
  const lines = fs.readFileSync(path, 'utf8').split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  let json: Record<string, unknown>;
  try {
    json = wordPieceTokenizerJson(lines, lowercase);
  } catch (error) {
    throw new TokenizerError(`${path}: ${(error as Error).message}`);
  }
  return new HfTokenizer(json, { pad_token: '[PAD]', do_lower_case: lowercase }, path);
}
