import * as fs from 'fs';
import type { TextTokenizer } from '../tokenizers/text-tokenizer';
import { IGNORE_INDEX } from '../train/losses';
import type { Example } from '../train/batches';
import { SeededRandom } from '../util/seeded-random';
import { DataError } from './text-file';

/** One LLM-Adapters record. In math files only `answer` is gold; `output` is a rationale. */
export interface InstructionRecord {
  instruction: string;
  input?: string;
  output: string;
  answer: string;
}

export function readLlmAdaptersJson(file: string): InstructionRecord[] {
  if (!fs.existsSync(file)) throw new DataError(`${file}: no such dataset file`);
  let records: unknown;
  try {
    records = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new DataError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  return parseInstructionRecords(records, file);
}

/** LLM-Adapters records from parsed JSON (a file's, or a job's); `source` names them in errors. */
export function parseInstructionRecords(records: unknown, source: string): InstructionRecord[] {
  if (!Array.isArray(records)) throw new DataError(`${source}: expected a JSON array of records`);
  return records.map((record, i) => {
    if (typeof record !== 'object' || record === null) throw new DataError(`${source}: record ${i} is not an object`);
    const r = record as Record<string, unknown>;
    for (const field of ['instruction', 'output'] as const) {
      if (typeof r[field] !== 'string') throw new DataError(`${source}: record ${i}: "${field}" must be a string`);
    }
    const answer = Array.isArray(r.answer) ? r.answer[0] : r.answer;
    return {
      instruction: r.instruction as string,
      input: typeof r.input === 'string' && r.input !== '' ? r.input : undefined,
      output: r.output as string,
      answer: answer === undefined || answer === null ? '' : String(answer),
    };
  });
}

/**
 * Records to be scored (a test set, the search's validation records): at least one, each with a
 * gold `answer` — a missing one would compare equal to an empty prediction and score as right.
 */
export function checkScoredRecords(records: InstructionRecord[], file: string, what: string): void {
  if (records.length === 0) throw new DataError(`${file}: ${what} has no records`);
  const missing = records.findIndex((r) => r.answer.trim() === '');
  if (missing >= 0) throw new DataError(`${file}: record ${missing} has no "answer" (${what} needs one per record)`);
}

const indent = (n: number) => ' '.repeat(n);

/**
 * LoNAS's training prompt (run_commonsense.py / run_math.py generate_prompt), whitespace exact:
 * the lines of a Python triple-quoted string indented by 20 spaces.
 */
export function trainingPrompt(record: Pick<InstructionRecord, 'instruction' | 'input'>, output: string): string {
  const pad = indent(20);
  if (record.input !== undefined) {
    return (
      'Below is an instruction that describes a task, paired with an input that provides further context. ' +
      'Write a response that appropriately completes the request. \n\n' +
      `${pad}### Instruction:\n${pad}${record.instruction}\n\n` +
      `${pad}### Input:\n${pad}${record.input}\n\n` +
      `${pad}### Response:\n${pad}${output}`
    );
  }
  return (
    'Below is an instruction that describes a task. Write a response that appropriately completes the request.  \n\n' +
    `${pad}### Instruction:\n${pad}${record.instruction}\n\n` +
    `${pad}### Response:\n${pad}${output}`
  );
}

/** The evaluation prompt: 24-space indentation for commonsense, 28 for math. */
export function evaluationPrompt(instruction: string, task: 'commonsense' | 'math'): string {
  const pad = indent(task === 'commonsense' ? 24 : 28);
  return (
    'Below is an instruction that describes a task. Write a response that appropriately completes the request. \n\n' +
    `${pad}### Instruction:\n${pad}${instruction}\n\n` +
    `${pad}### Response:\n${pad}`
  );
}

export interface TokenizeOptions {
  /** cutoff_len (256). */
  cutoffLength: number;
  /** train_on_inputs (true): learn the prompt too; false masks it with IGNORE_INDEX. */
  trainOnInputs: boolean;
}

/**
 * Tokenises a record as LoNAS does: BOS + prompt truncated to cutoff_len, EOS appended when the
 * sequence is shorter and does not end in it, labels = ids (the prompt masked when not training
 * on inputs).
 */
export function tokenizeForTraining(
  tokenizer: TextTokenizer,
  record: InstructionRecord,
  options: TokenizeOptions,
): Example {
  const encode = (text: string, addEos: boolean) => {
    const ids = tokenizer.addSpecialTokens(tokenizer.tokenize(text)).ids.slice(0, options.cutoffLength);
    const eos = tokenizer.eosTokenId;
    if (addEos && eos !== undefined && ids[ids.length - 1] !== eos && ids.length < options.cutoffLength) ids.push(eos);
    return ids;
  };
  const inputIds = encode(trainingPrompt(record, record.output), true);
  if (options.trainOnInputs) return { inputIds };
  const promptLength = encode(trainingPrompt(record, ''), false).length;
  return { inputIds, labels: inputIds.map((id, i) => (i < promptLength ? IGNORE_INDEX : id)) };
}

/** Holds out `size` records for validation with a seeded shuffle (LoNAS: train_test_split, seed 42). */
export function splitValidation<T>(records: T[], size: number, seed = 42): { train: T[]; validation: T[] } {
  if (size <= 0) return { train: records, validation: [] };
  if (size >= records.length)
    throw new DataError(`val_set_size ${size} leaves no training records (${records.length} in all)`);
  const random = new SeededRandom(seed);
  const order = records.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = random.below(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return { validation: order.slice(0, size).map((i) => records[i]), train: order.slice(size).map((i) => records[i]) };
}
