import * as fs from 'fs';
import * as path from 'path';
import { batchEncode, longestFirst } from '../../src/tokenizers/batch-encode';
import { loadTokenizer } from '../../src/tokenizers/load-tokenizer';
import type { TextTokenizer } from '../../src/tokenizers/text-tokenizer';
import { makeTinyCheckpoints } from '../support/tiny-checkpoints';

describe('tokenizers of the tiny checkpoints', () => {
  const tiny = makeTinyCheckpoints();
  afterAll(() => tiny.remove());

  it.each(['llama', 'bloom', 'bert'] as const)('%s: round-trips text, unknown characters included', (family) => {
    const tokenizer = loadTokenizer(tiny.path(family));
    const text = 'the cat sat on the mat. zebra 42!';
    expect(tokenizer.decode(tokenizer.tokenize(text))).toBe(text);
  });

  it('LLaMA-style: byte fallback, BOS from the template, merges applied', () => {
    const tokenizer = loadTokenizer(tiny.path('llama'));
    expect(tokenizer.bosTokenId).toBe(1);
    expect(tokenizer.eosTokenId).toBe(2);
    const ids = tokenizer.tokenize('the é');
    expect(ids[0]).toBeGreaterThan(258); // "▁the", one merged piece
    expect(ids.slice(-2)).toEqual([0xc3 + 3, 0xa9 + 3]); // é as UTF-8 byte tokens
    expect(tokenizer.addSpecialTokens(ids).ids).toEqual([1, ...ids]);
  });

  it('decodes a generation of only special tokens, or none, to the empty text', () => {
    for (const family of ['llama', 'bert'] as const) {
      const tokenizer = loadTokenizer(tiny.path(family));
      const specials = tokenizer.addSpecialTokens([]).ids;
      expect(tokenizer.decode(specials, { skipSpecialTokens: true })).toBe('');
      expect(tokenizer.decode([], { skipSpecialTokens: true })).toBe('');
    }
  });

  it('BERT-style: [CLS] a [SEP] b [SEP] with type ids, [UNK] for unknown pieces', () => {
    const tokenizer = loadTokenizer(tiny.path('bert'));
    const { ids, typeIds } = tokenizer.addSpecialTokens(tokenizer.tokenize('cat'), tokenizer.tokenize('dog'));
    expect(ids).toEqual([2, tokenizer.tokenize('cat')[0], 3, tokenizer.tokenize('dog')[0], 3]);
    expect(typeIds).toEqual([0, 0, 0, 1, 1]);
    expect(tokenizer.tokenize('日')).toEqual([1]);
  });

  it('names a file that is not a tokenizer', () => {
    const file = path.join(tiny.folder, 'notes.md');
    fs.writeFileSync(file, 'hello');
    expect(() => loadTokenizer(file)).toThrow(
      /notes\.md: not a tokenizer\.json, vocab\.txt or llama2\.c \.bin tokenizer/,
    );
    const broken = path.join(tiny.folder, 'tokenizer.json');
    fs.writeFileSync(broken, '{"model":');
    expect(() => loadTokenizer(broken)).toThrow(/tokenizer\.json: not valid JSON/);
  });
});

describe('batchEncode', () => {
  /** Characters as tokens: 'a' -> 1, 'b' -> 2, ...; specials: BOS 100, SEP 101; pad 0. */
  const letters: TextTokenizer = {
    vocabSize: 102,
    bosTokenId: 100,
    padTokenId: undefined,
    tokenize: (text) => [...text].map((c) => c.charCodeAt(0) - 96),
    addSpecialTokens: (a, b) => {
      const ids = [100, ...a, ...(b === undefined ? [] : [101, ...b])];
      return { ids, typeIds: ids.map((_, i) => (b !== undefined && i > a.length + 1 ? 1 : 0)) };
    },
    decode: (ids) => ids.map((i) => String.fromCharCode(i + 96)).join(''),
  };

  it('pads right by default, with masks', () => {
    expect(batchEncode(letters, ['ab', 'abcd'])).toEqual({
      inputIds: [
        [100, 1, 2, 0, 0],
        [100, 1, 2, 3, 4],
      ],
      attentionMask: [
        [1, 1, 1, 0, 0],
        [1, 1, 1, 1, 1],
      ],
      tokenTypeIds: [
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0],
      ],
    });
  });

  it('pads left for generation, to a multiple when asked', () => {
    const encoded = batchEncode(letters, ['a', 'abc'], { paddingSide: 'left', padToMultipleOf: 8, padTokenId: 7 });
    expect(encoded.inputIds).toEqual([
      [7, 7, 7, 7, 7, 7, 100, 1],
      [7, 7, 7, 7, 100, 1, 2, 3],
    ]);
    expect(encoded.attentionMask[0]).toEqual([0, 0, 0, 0, 0, 0, 1, 1]);
  });

  it('truncates to maxLength with special tokens counted, the longer of a pair first', () => {
    expect(batchEncode(letters, ['abcdefgh'], { truncation: true, maxLength: 4 }).inputIds).toEqual([[100, 1, 2, 3]]);
    const pair = batchEncode(letters, [['abcdef', 'xy']], { truncation: true, maxLength: 7, padding: 'none' });
    expect(pair.inputIds).toEqual([[100, 1, 2, 3, 101, 24, 25]]);
    expect(pair.tokenTypeIds).toEqual([[0, 0, 0, 0, 0, 1, 1]]);
  });

  it("keeps of a pair what HF's fast tokenizers keep (longest_first), ties included", () => {
    // The shorter whole when the longer can take the cut.
    expect(longestFirst(10, 3, 9)).toEqual([6, 3]);
    expect(longestFirst(3, 10, 9)).toEqual([3, 6]);
    // Both cut: floor(budget / 2) to the shorter, the first on a tie; one token removed at a time
    // from the longer would keep [2, 3] of (10, 9).
    expect(longestFirst(10, 9, 5)).toEqual([3, 2]);
    expect(longestFirst(9, 10, 5)).toEqual([2, 3]);
    expect(longestFirst(10, 10, 5)).toEqual([2, 3]);
    expect(longestFirst(4, 4, 8)).toEqual([4, 4]);
    expect(longestFirst(7, 2, 0)).toEqual([0, 0]);
  });

  it('pads to max_length, and leaves rows ragged with padding none', () => {
    expect(batchEncode(letters, ['a'], { padding: 'max_length', maxLength: 4 }).inputIds).toEqual([[100, 1, 0, 0]]);
    expect(batchEncode(letters, ['a', 'abc'], { padding: 'none' }).inputIds).toEqual([
      [100, 1],
      [100, 1, 2, 3],
    ]);
    expect(() => batchEncode(letters, ['a'], { truncation: true })).toThrow('batchEncode: truncation needs maxLength');
  });
});
