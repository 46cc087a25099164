import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { glueLabelCount, readGlueTsv } from '../../src/data/glue';
import {
  evaluationPrompt,
  readLlmAdaptersJson,
  splitValidation,
  tokenizeForTraining,
  trainingPrompt,
} from '../../src/data/llm-adapters';
import type { TextTokenizer } from '../../src/tokenizers/text-tokenizer';
import { IGNORE_INDEX } from '../../src/train/losses';
import { describeWithSharedData, sharedData } from '../support/shared-data';

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'lonas-data-'));
afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));
const write = (name: string, content: string) => {
  const file = path.join(folder, name);
  fs.writeFileSync(file, content);
  return file;
};

describe('LLM-Adapters data', () => {
  it("builds the training and evaluation prompts with LoNAS's exact whitespace", () => {
    const pad20 = ' '.repeat(20);
    expect(trainingPrompt({ instruction: 'Q?' }, 'true')).toBe(
      `Below is an instruction that describes a task. Write a response that appropriately completes the request.  \n\n${pad20}### Instruction:\n${pad20}Q?\n\n${pad20}### Response:\n${pad20}true`,
    );
    expect(trainingPrompt({ instruction: 'Q?', input: 'ctx' }, 'a')).toContain(`request. \n\n${pad20}### Instruction:`);
    expect(trainingPrompt({ instruction: 'Q?', input: 'ctx' }, 'a')).toContain(`${pad20}### Input:\n${pad20}ctx\n\n`);
    const pad24 = ' '.repeat(24);
    expect(evaluationPrompt('Q?', 'commonsense')).toBe(
      `Below is an instruction that describes a task. Write a response that appropriately completes the request. \n\n${pad24}### Instruction:\n${pad24}Q?\n\n${pad24}### Response:\n${pad24}`,
    );
    expect(evaluationPrompt('Q?', 'math')).toContain(`${' '.repeat(28)}### Response:\n`);
  });

  /** Characters as ids; BOS 1, EOS 2. */
  const chars: TextTokenizer = {
    vocabSize: 200,
    bosTokenId: 1,
    eosTokenId: 2,
    tokenize: (text) => [...text].map((c) => Math.min(199, c.charCodeAt(0))),
    addSpecialTokens: (a) => ({ ids: [1, ...a], typeIds: [0, ...a.map(() => 0)] }),
    decode: () => '',
  };

  it('tokenises with cutoff_len, EOS appended, and the prompt masked when not training on inputs', () => {
    const record = { instruction: 'Q?', output: 'yes', answer: 'yes' };
    const full = tokenizeForTraining(chars, record, { cutoffLength: 256, trainOnInputs: true });
    expect(full.inputIds[0]).toBe(1);
    expect(full.inputIds[full.inputIds.length - 1]).toBe(2);
    expect(full.labels).toBeUndefined();
    const cut = tokenizeForTraining(chars, record, { cutoffLength: 20, trainOnInputs: true });
    expect(cut.inputIds).toHaveLength(20);
    expect(cut.inputIds[19]).not.toBe(2);
    const masked = tokenizeForTraining(chars, record, { cutoffLength: 256, trainOnInputs: false });
    const promptLength = 1 + trainingPrompt(record, '').length;
    expect(masked.labels?.slice(0, promptLength).every((l) => l === IGNORE_INDEX)).toBe(true);
    expect(masked.labels?.slice(promptLength)).toEqual([...'yes'].map((c) => c.charCodeAt(0)).concat([2]));
  });

  it('reads records, naming a bad one; splits validation reproducibly', () => {
    const file = write('set.json', JSON.stringify([{ instruction: 'a', input: '', output: 'b', answer: ['C'] }]));
    expect(readLlmAdaptersJson(file)).toEqual([{ instruction: 'a', input: undefined, output: 'b', answer: 'C' }]);
    const bad = write(
      'bad.json',
      JSON.stringify([
        { instruction: 'a', output: 'b' },
        { instruction: 3, output: 'b' },
      ]),
    );
    expect(() => readLlmAdaptersJson(bad)).toThrow(`${bad}: record 1: "instruction" must be a string`);
    const records = [...Array(10).keys()];
    const split = splitValidation(records, 3);
    expect(split.validation).toHaveLength(3);
    expect(split).toEqual(splitValidation(records, 3));
    expect([...split.train, ...split.validation].sort((a, b) => a - b)).toEqual(records);
  });
});

describe('GLUE TSV', () => {
  it('reads by header names, skipping a BOM and unquoting fields', () => {
    const file = write(
      'mrpc.tsv',
      '\uFEFFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\t"Said ""hi"""\tHello\n',
    );
    expect(readGlueTsv(file, 'mrpc')).toEqual([{ sentence1: 'Said "hi"', sentence2: 'Hello', label: 1 }]);
  });

  it('reads swapped columns and header-less CoLA files', () => {
    expect(readGlueTsv(write('sst2.tsv', 'label\tsentence\n1\tgreat\n'), 'sst2')).toEqual([
      { sentence1: 'great', sentence2: undefined, label: 1 },
    ]);
    expect(
      readGlueTsv(write('cola.tsv', 'gj04\t1\t\tThe sailors rode the breeze clear of the rocks.\n'), 'cola')[0],
    ).toMatchObject({ label: 1 });
  });

  it('maps label names and names a malformed row by file and line', () => {
    const rte = write('rte.tsv', 'index\tsentence1\tsentence2\tlabel\n0\ta\tb\tnot_entailment\n1\ta\tb\tmaybe\n');
    expect(() => readGlueTsv(rte, 'rte')).toThrow(`${rte}:3: label 'maybe' is not one of entailment, not_entailment`);
    const short = write('short.tsv', 'index\tsentence1\tsentence2\tlabel\n0\tonly\n');
    expect(() => readGlueTsv(short, 'rte')).toThrow(
      `${short}:2: 2 fields, expected 4 (the header columns index, sentence1, sentence2, label)`,
    );
    // A stray tab shifts the label into another column: refused, not read from the wrong field.
    const long = write('long.tsv', 'index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n1\ta\tx\tb\tentailment\n');
    expect(() => readGlueTsv(long, 'rte')).toThrow(`${long}:3: 5 fields, expected 4`);
    const cola = write('cola-long.tsv', 'gj04\t1\t\tThe sailors rode\tthe breeze.\n');
    expect(() => readGlueTsv(cola, 'cola')).toThrow(`${cola}:1: 5 fields, expected 4 (GLUE's columns`);
    expect(glueLabelCount('mnli')).toBe(3);
    expect(glueLabelCount('stsb')).toBe(1);
  });
});

describeWithSharedData(
  'real GLUE and LLM-Adapters files',
  ['glue/RTE/dev.tsv', 'glue/MRPC/dev.tsv', 'glue/SST-2/dev.tsv', 'llm-adapters/dataset/boolq/test.json'],
  () => {
    it('reads them', () => {
      expect(readGlueTsv(sharedData('glue/RTE/dev.tsv'), 'rte')).toHaveLength(277);
      const mrpc = readGlueTsv(sharedData('glue/MRPC/dev.tsv'), 'mrpc');
      expect(mrpc.length).toBe(408);
      expect(new Set(mrpc.map((e) => e.label))).toEqual(new Set([0, 1]));
      expect(readGlueTsv(sharedData('glue/SST-2/dev.tsv'), 'sst2').length).toBe(872);
      const boolq = readLlmAdaptersJson(sharedData('llm-adapters/dataset/boolq/test.json'));
      expect(new Set(boolq.map((r) => r.answer))).toEqual(new Set(['true', 'false']));
    });
  },
);
