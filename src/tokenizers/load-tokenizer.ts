import * as fs from 'fs';
import * as path from 'path';
import { HfTokenizer, type TokenizerConfigJson } from './hf-tokenizer';
import { Llama2cTokenizer } from './llama2c-tokenizer';
import { TokenizerError, type TextTokenizer } from './text-tokenizer';
import { readWordPieceVocab } from './wordpiece-vocab';

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new TokenizerError(`${file}: not valid JSON (${(error as Error).message})`);
  }
}

function fromTokenizerJson(file: string): HfTokenizer {
  const configFile = path.join(path.dirname(file), 'tokenizer_config.json');
  const config = fs.existsSync(configFile) ? (readJson(configFile) as TokenizerConfigJson) : {};
  return new HfTokenizer(readJson(file), config, file);
}

function fromVocabTxt(file: string): HfTokenizer {
  const configFile = path.join(path.dirname(file), 'tokenizer_config.json');
  const lowercase = fs.existsSync(configFile) ? readJson(configFile).do_lower_case !== false : true;
  return readWordPieceVocab(file, lowercase);
}

/**
 * Loads a tokenizer from a model folder (tokenizer.json, else vocab.txt) or a file: a
 * tokenizer.json, a BERT vocab.txt, or a llama2.c tokenizer .bin (which needs the model's
 * vocabulary size, as the file does not record it).
 */
export function loadTokenizer(location: string, options: { vocabSize?: number } = {}): TextTokenizer {
  if (!fs.existsSync(location)) throw new TokenizerError(`${location}: no such tokenizer file or folder`);
  if (fs.statSync(location).isDirectory()) {
    for (const [name, load] of [
      ['tokenizer.json', fromTokenizerJson],
      ['vocab.txt', fromVocabTxt],
    ] as const) {
      const file = path.join(location, name);
      if (fs.existsSync(file)) return load(file);
    }
    throw new TokenizerError(`${location}: no tokenizer.json or vocab.txt (pass --tokenizer <file>)`);
  }
  if (location.endsWith('.json')) return fromTokenizerJson(location);
  if (location.endsWith('.txt')) return fromVocabTxt(location);
  if (location.endsWith('.bin')) {
    if (options.vocabSize === undefined)
      throw new TokenizerError(`${location}: a llama2.c tokenizer needs the model's vocabulary size`);
    return Llama2cTokenizer.read(location, options.vocabSize);
  }
  throw new TokenizerError(`${location}: not a tokenizer.json, vocab.txt or llama2.c .bin tokenizer`);
}
