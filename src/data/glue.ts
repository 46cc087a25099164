import * as fs from 'fs';
import { DataError } from './text-file';

/** One GLUE example: one or two sentences and a label (class index, or a score for STS-B). */
export interface GlueExample {
  sentence1: string;
  sentence2?: string;
  label: number;
}

interface TaskFormat {
  /** Column names of the sentences and label, as in GLUE's headers (the first, else an alias). */
  sentence1: string;
  aliases?: Record<string, string[]>;
  sentence2?: string;
  label: string;
  /** Label strings in class order (omitted: numeric labels as written). */
  labels?: string[];
  /** Column names of a file without a header (CoLA). */
  headerless?: string[];
}

/** The GLUE tasks, their columns and label lists (as Hugging Face's glue dataset orders them). */
export const glueTasks: Record<string, TaskFormat> = {
  cola: { sentence1: 'sentence', label: 'label', headerless: ['source', 'label', 'original_label', 'sentence'] },
  sst2: { sentence1: 'sentence', label: 'label', aliases: { sentence: ['content', 'text'] } },
  mrpc: { sentence1: '#1 String', sentence2: '#2 String', label: 'Quality' },
  qqp: { sentence1: 'question1', sentence2: 'question2', label: 'is_duplicate' },
  stsb: { sentence1: 'sentence1', sentence2: 'sentence2', label: 'score' },
  mnli: {
    sentence1: 'sentence1',
    sentence2: 'sentence2',
    label: 'gold_label',
    labels: ['entailment', 'neutral', 'contradiction'],
  },
  qnli: { sentence1: 'question', sentence2: 'sentence', label: 'label', labels: ['entailment', 'not_entailment'] },
  rte: { sentence1: 'sentence1', sentence2: 'sentence2', label: 'label', labels: ['entailment', 'not_entailment'] },
};

/** The number of outputs of a task's classifier (1 for STS-B's regression). */
export function glueLabelCount(task: string): number {
  if (task === 'stsb') return 1;
  return glueTasks[task]?.labels?.length ?? 2;
}

/** A TSV field: quoted fields lose their quotes and doubled inner quotes. */
function unquote(field: string): string {
  return field.length >= 2 && field.startsWith('"') && field.endsWith('"')
    ? field.slice(1, -1).replace(/""/g, '"')
    : field;
}

/**
 * Reads a GLUE TSV of `task`: a byte-order mark is skipped, columns are found by header name (so
 * files with reordered columns read right), header-less files (CoLA) use GLUE's column order,
 * and a row whose field count differs from the columns' (a stray tab shifts every field after
 * it) or with an unknown label is an error naming the file and line.
 */
export function readGlueTsv(file: string, task: string): GlueExample[] {
  const format = glueTasks[task];
  if (format === undefined)
    throw new DataError(`unknown GLUE task '${task}' (known: ${Object.keys(glueTasks).join(', ')})`);
  if (!fs.existsSync(file)) throw new DataError(`${file}: no such GLUE file`);
  const lines = fs
    .readFileSync(file, 'utf8')
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const first = lines[0]?.split('\t').map(unquote) ?? [];
  const hasHeader = first.includes(format.label) || first.includes(format.sentence1);
  const columns = hasHeader ? first : (format.headerless ?? first);
  const at = (name: string) => {
    const index = [name, ...(format.aliases?.[name] ?? [])].map((n) => columns.indexOf(n)).find((i) => i >= 0);
    if (index === undefined) throw new DataError(`${file}: no "${name}" column (found ${columns.join(', ')})`);
    return index;
  };
  const [s1, s2, label] = [
    at(format.sentence1),
    format.sentence2 === undefined ? -1 : at(format.sentence2),
    at(format.label),
  ];
  return lines.slice(hasHeader ? 1 : 0).map((line, i) => {
    const where = `${file}:${i + (hasHeader ? 2 : 1)}`;
    const fields = line.split('\t').map(unquote);
    if (fields.length !== columns.length) {
      throw new DataError(
        `${where}: ${fields.length} fields, expected ${columns.length} (${hasHeader ? 'the header' : "GLUE's"} columns ${columns.join(', ')})`,
      );
    }
    const raw = fields[label];
    let value: number;
    if (format.labels !== undefined) {
      value = format.labels.indexOf(raw);
      if (value < 0) throw new DataError(`${where}: label '${raw}' is not one of ${format.labels.join(', ')}`);
    } else {
      value = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(value)) throw new DataError(`${where}: label '${raw}' is not a number`);
    }
    return { sentence1: fields[s1], sentence2: s2 < 0 ? undefined : fields[s2], label: value };
  });
}

/** GLUE examples from parsed JSON (a job's validation records); `source` names them in errors. */
export function parseGlueExamples(records: unknown, source: string): GlueExample[] {
  if (!Array.isArray(records)) throw new DataError(`${source}: expected a JSON array of GLUE examples`);
  return records.map((record, i) => {
    const r = (typeof record === 'object' && record !== null ? record : {}) as Record<string, unknown>;
    if (typeof r.sentence1 !== 'string') throw new DataError(`${source}: example ${i}: "sentence1" must be a string`);
    if (r.sentence2 !== undefined && typeof r.sentence2 !== 'string') {
      throw new DataError(`${source}: example ${i}: "sentence2" must be a string when present`);
    }
    if (typeof r.label !== 'number' || !Number.isFinite(r.label)) {
      throw new DataError(`${source}: example ${i}: "label" must be a finite number`);
    }
    return { sentence1: r.sentence1, sentence2: r.sentence2 as string | undefined, label: r.label };
  });
}
