import * as fs from 'fs';
import { TokenizerError, type TextTokenizer } from './text-tokenizer';

const UNK = 0;
const BOS = 1;
const EOS = 2;
/** Byte-fallback tokens <0x00>..<0xFF> start here. */
const FIRST_BYTE_TOKEN = 3;

/**
 * The llama2.c tokenizer .bin: int32 max_token_length, then per token a float32 merge score,
 * an int32 length and the UTF-8 bytes of the piece (spaces where SentencePiece shows "▁").
 * Encoding is llama2.c's: a dummy-prefix space, one token per code point (bytes for unknown
 * ones), then repeatedly merge the adjacent pair whose merged piece has the highest score.
 */
export class Llama2cTokenizer implements TextTokenizer {
  readonly bosTokenId = BOS;
  readonly eosTokenId = EOS;
  readonly padTokenId = undefined;
  private readonly idOf = new Map<string, number>();

  private constructor(
    private readonly pieces: string[],
    private readonly pieceBytes: Uint8Array[],
    private readonly scores: Float32Array,
  ) {
    pieces.forEach((piece, id) => {
      if (!this.idOf.has(piece)) this.idOf.set(piece, id);
    });
  }

  get vocabSize(): number {
    return this.pieces.length;
  }

  /** Reads a tokenizer .bin; `vocabSize` comes from the model (the file does not record it). */
  static read(path: string, vocabSize: number): Llama2cTokenizer {
    if (!fs.existsSync(path)) throw new TokenizerError(`${path}: no such llama2.c tokenizer`);
    const bytes = fs.readFileSync(path);
    const pieces: string[] = [];
    const pieceBytes: Uint8Array[] = [];
    const scores = new Float32Array(vocabSize);
    let offset = 4;
    const decoder = new TextDecoder('utf-8');
    for (let id = 0; id < vocabSize; id++) {
      if (offset + 8 > bytes.length) {
        throw new TokenizerError(`${path}: ends after ${id} tokens, but the model has ${vocabSize}`);
      }
      scores[id] = bytes.readFloatLE(offset);
      const length = bytes.readInt32LE(offset + 4);
      offset += 8;
      if (length < 0 || offset + length > bytes.length) {
        throw new TokenizerError(`${path}: token ${id} has an invalid length ${length}`);
      }
      const piece = new Uint8Array(bytes.subarray(offset, offset + length));
      pieceBytes.push(piece);
      pieces.push(decoder.decode(piece));
      offset += length;
    }
    return new Llama2cTokenizer(pieces, pieceBytes, scores);
  }

  tokenize(text: string): number[] {
    if (text === '') return [];
    const ids: number[] = [];
    const space = this.idOf.get(' ');
    if (space !== undefined) ids.push(space);
    const encoder = new TextEncoder();
    for (const character of text) {
      const id = this.idOf.get(character);
      if (id !== undefined) ids.push(id);
      else for (const byte of encoder.encode(character)) ids.push(byte + FIRST_BYTE_TOKEN);
    }
    for (;;) {
      let bestScore = -Infinity;
      let bestId = -1;
      let bestAt = -1;
      for (let i = 0; i + 1 < ids.length; i++) {
        const merged = this.idOf.get(this.pieces[ids[i]] + this.pieces[ids[i + 1]]);
        if (merged !== undefined && this.scores[merged] > bestScore) {
          bestScore = this.scores[merged];
          bestId = merged;
          bestAt = i;
        }
      }
      if (bestAt < 0) return ids;
      ids.splice(bestAt, 2, bestId);
    }
  }

  addSpecialTokens(a: number[], b?: number[]): { ids: number[]; typeIds: number[] } {
    const ids = [BOS, ...a, ...(b ?? [])];
    return { ids, typeIds: ids.map(() => 0) };
  }

  /** Joins the pieces' bytes (byte tokens as raw bytes) and drops the dummy-prefix space. */
  decode(ids: number[], options: { skipSpecialTokens?: boolean } = {}): string {
    const chunks: Uint8Array[] = [];
    for (const id of ids) {
      if (id < 0 || id >= this.pieces.length) throw new TokenizerError(`token id ${id} is outside the vocabulary`);
      if (options.skipSpecialTokens && (id === UNK || id === BOS || id === EOS)) continue;
      const byte = /^<0x([0-9A-F]{2})>$/.exec(this.pieces[id]);
      chunks.push(byte ? Uint8Array.of(parseInt(byte[1], 16)) : this.pieceBytes[id]);
    }
    const text = new TextDecoder('utf-8').decode(Buffer.concat(chunks));
    return text.startsWith(' ') ? text.slice(1) : text;
  }
}
