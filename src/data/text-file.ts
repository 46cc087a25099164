import * as fs from 'fs';

/** One record of a plain training file: text (and a second text and a label for classification). */
export interface TextRecord {
  text: string;
  textPair?: string;
  label?: number;
}

export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}

function toRecord(value: unknown, where: string): TextRecord {
  if (typeof value === 'string') return { text: value };
  const v = value as { text?: unknown; text_pair?: unknown; label?: unknown };
  if (typeof v?.text !== 'string') throw new DataError(`${where}: expected a string or an object with a "text" string`);
  if (v.text_pair !== undefined && typeof v.text_pair !== 'string')
    throw new DataError(`${where}: "text_pair" must be a string`);
  if (v.label !== undefined && typeof v.label !== 'number') throw new DataError(`${where}: "label" must be a number`);
  return { text: v.text, textPair: v.text_pair as string | undefined, label: v.label as number | undefined };
}

/**
 * Reads a plain training file: a JSON array, or JSON lines, of strings or
 * {"text", "text_pair"?, "label"?} objects. A bad record names the file and its line or index.
 */
export function readTextFile(file: string): TextRecord[] {
  if (!fs.existsSync(file)) throw new DataError(`${file}: no such training file`);
  const content = fs.readFileSync(file, 'utf8');
  if (content.trimStart().startsWith('[')) {
    let array: unknown[];
    try {
      array = JSON.parse(content);
    } catch (error) {
      throw new DataError(`${file}: not valid JSON (${(error as Error).message})`);
    }
    return array.map((value, i) => toRecord(value, `${file}: record ${i}`));
  }
  return content.split(/\r?\n/).flatMap((line, i) => {
    if (line.trim() === '') return [];
    try {
      return [toRecord(JSON.parse(line), `${file}:${i + 1}`)];
    } catch (error) {
      if (error instanceof DataError) throw error;
      throw new DataError(`${file}:${i + 1}: not a JSON line (${(error as Error).message})`);
    }
  });
}
