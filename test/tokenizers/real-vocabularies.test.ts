import * as fs from 'fs';
import * as path from 'path';
import { loadTokenizer } from '../../src/tokenizers/load-tokenizer';
import { describeWithSharedData, sharedData } from '../support/shared-data';

/**
 * Ids of real vocabularies, checked against independent references committed as fixtures by
 * tools/reference/make-fixtures.sh: a from-scratch WordPiece (tools/reference/bert_tokenize.py)
 * for BERT, and SentencePiece itself on LLaMA's tokenizer.model.
 */
const fixtures = path.join(__dirname, '..', 'fixtures', 'reference');
const sentences: string[] = JSON.parse(fs.readFileSync(path.join(fixtures, 'sentences.json'), 'utf8'));
const expected = JSON.parse(fs.readFileSync(path.join(fixtures, 'token-ids.json'), 'utf8'));

describeWithSharedData(
  'bert-base-uncased',
  ['tokenizers/bert-base-uncased/tokenizer.json', 'tokenizers/bert-base-uncased/vocab.txt'],
  () => {
    for (const file of ['tokenizer.json', 'vocab.txt']) {
      it(`gives the reference ids from ${file}`, () => {
        const tokenizer = loadTokenizer(sharedData(`tokenizers/bert-base-uncased/${file}`));
        expect(tokenizer.vocabSize).toBe(30522);
        expect(tokenizer.padTokenId).toBe(0);
        sentences.forEach((sentence, i) => {
          expect(tokenizer.addSpecialTokens(tokenizer.tokenize(sentence)).ids).toEqual(
            expected['bert-base-uncased'][i],
          );
        });
      });
    }

    it('encodes sentence pairs with token type ids', () => {
      const tokenizer = loadTokenizer(sharedData('tokenizers/bert-base-uncased/tokenizer.json'));
      const { ids, typeIds } = tokenizer.addSpecialTokens(
        tokenizer.tokenize('Hello, world!'),
        tokenizer.tokenize('Bye.'),
      );
      expect(ids).toEqual([101, 7592, 1010, 2088, 999, 102, 9061, 1012, 102]);
      expect(typeIds).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1]);
    });
  },
);

describeWithSharedData('LLaMA-2 (llama2.c tokenizer.bin)', ['tokenizers/llama2/tokenizer.bin'], () => {
  it('gives SentencePiece ids and decodes back to the text', () => {
    const tokenizer = loadTokenizer(sharedData('tokenizers/llama2/tokenizer.bin'), { vocabSize: 32000 });
    sentences.forEach((sentence, i) => {
      const ids = tokenizer.tokenize(sentence);
      expect(ids).toEqual(expected.llama2[i]);
      expect(tokenizer.decode(ids)).toBe(sentence);
    });
    expect(tokenizer.addSpecialTokens([15043]).ids).toEqual([1, 15043]);
  });
});

describeWithSharedData(
  'stories260K tokenizer',
  ['models/stories260K/tok512.bin', 'models/stories260K/golden_greedy200.json'],
  () => {
    it('decodes the golden ids to the golden text', () => {
      const golden = JSON.parse(fs.readFileSync(sharedData('models/stories260K/golden_greedy200.json'), 'utf8'));
      const tokenizer = loadTokenizer(sharedData('models/stories260K/tok512.bin'), { vocabSize: 512 });
      expect(tokenizer.decode(golden.generated_ids)).toBe(golden.text);
    });
  },
);
