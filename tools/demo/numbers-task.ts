/**
 * The demo's task, of lonas's own making: comparing whole numbers from 0 to 99. A pretraining
 * corpus states comparisons in plain sentences; the fine-tuning task asks about them in
 * LLM-Adapters' commonsense formats (boolq's true/false and winogrande's option1/option2). Pairs
 * used for testing are never asked about, in pretraining or in fine-tuning.
 */
import type { InstructionRecord } from '../../src/data/llm-adapters';
import { SeededRandom } from '../../src/util/seeded-random';

export const NUMBERS = 100;

export type Pair = [number, number];

/** Every unordered pair of distinct numbers, shuffled, split into fine-tuning and test pairs. */
export function splitPairs(random: SeededRandom, testPairs: number): { train: Pair[]; test: Pair[] } {
  const pairs: Pair[] = [];
  for (let a = 0; a < NUMBERS; a++) for (let b = a + 1; b < NUMBERS; b++) pairs.push([a, b]);
  for (let i = pairs.length - 1; i > 0; i--) {
    const j = random.below(i + 1);
    [pairs[i], pairs[j]] = [pairs[j], pairs[i]];
  }
  return { test: pairs.slice(0, testPairs), train: pairs.slice(testPairs) };
}

const ordered = (random: SeededRandom, [a, b]: Pair): Pair => (random.below(2) === 0 ? [a, b] : [b, a]);

/** "is 37 greater than 52?" -> false, in boolq's format. */
export function compareRecord(random: SeededRandom, pair: Pair): InstructionRecord {
  const [a, b] = ordered(random, pair);
  const answer = String(a > b);
  return {
    instruction:
      `Please answer the following question with true or false, question: is ${a} greater than ${b}?\n\n` +
      'Answer format: true/false',
    output: `the correct answer is ${answer}`,
    answer,
  };
}

/** "the larger number is _, Option1: 37 Option2: 52" -> option2, in winogrande's format. */
export function chooseRecord(random: SeededRandom, pair: Pair): InstructionRecord {
  const [a, b] = ordered(random, pair);
  const answer = a > b ? 'option1' : 'option2';
  return {
    instruction:
      'Please choose the correct answer to fill in the blank to complete the given sentence: ' +
      `the larger number is _\n\nOption1: ${a} Option2: ${b} Answer format: option1/option2`,
    output: `the correct answer is ${answer}`,
    answer,
  };
}

/** The test sets, by the dataset name `lonas commonsense --test_datasets` is given. */
export const demoDatasets = { compare: compareRecord, choose: chooseRecord };

/** Two distinct numbers, lower first. */
function distinctPair(random: SeededRandom): Pair {
  const a = random.below(NUMBERS);
  let b = random.below(NUMBERS - 1);
  if (b >= a) b += 1;
  return [a, b];
}

/** Plain sentences about numbers: order, comparisons, the smaller and larger of two, counting. */
export function corpusSentence(random: SeededRandom): string {
  const [a, b] = distinctPair(random);
  const [low, high] = a < b ? [a, b] : [b, a];
  switch (random.below(6)) {
    case 0:
      return `${low} is less than ${high}.`;
    case 1:
      return `${high} is greater than ${low}.`;
    case 2:
      return `the smaller of ${a} and ${b} is ${low}.`;
    case 3:
      return `the larger of ${a} and ${b} is ${high}.`;
    case 4:
      return random.below(2) === 0
        ? `it is true that ${high} is greater than ${low}.`
        : `it is false that ${low} is greater than ${high}.`;
    default: {
      const start = random.below(NUMBERS - 4);
      return `counting: ${start}, ${start + 1}, ${start + 2}, ${start + 3}.`;
    }
  }
}

/**
 * Instructions about numbers in the formats the task uses: the task's own two questions on the
 * fine-tuning pairs (as an instruction-tuned base model has seen questions like its tasks'), and
 * others (the larger of two; what comes next). Test pairs are never asked about.
 */
export function corpusInstruction(random: SeededRandom, trainPairs: Pair[]): InstructionRecord {
  const [a, b] = distinctPair(random);
  const next = random.below(NUMBERS - 1);
  const answerIs = (answer: string) => ({ output: `the correct answer is ${answer}`, answer });
  switch (random.below(5)) {
    case 3:
      return compareRecord(random, trainPairs[random.below(trainPairs.length)]);
    case 4:
      return chooseRecord(random, trainPairs[random.below(trainPairs.length)]);
    case 0:
      return {
        instruction: `Please answer the following question: what is the larger of ${a} and ${b}?`,
        ...answerIs(String(Math.max(a, b))),
      };
    case 1: {
      const claimed = random.below(2) === 0 ? next + 1 : a;
      return {
        instruction:
          `Please answer the following question with true or false, question: does ${claimed} come after ${next}?\n\n` +
          'Answer format: true/false',
        ...answerIs(String(claimed === next + 1)),
      };
    }
    default: {
      const wrong = a === next + 1 ? b : a;
      const first = random.below(2) === 0;
      const [option1, option2] = first ? [next + 1, wrong] : [wrong, next + 1];
      return {
        instruction:
          'Please choose the correct answer to fill in the blank to complete the given sentence: ' +
          `the number after ${next} is _\n\nOption1: ${option1} Option2: ${option2} Answer format: option1/option2`,
        ...answerIs(first ? 'option1' : 'option2'),
      };
    }
  }
}
