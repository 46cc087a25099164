import {
  commonsenseDatasetOfLabel,
  extractCommonsenseAnswer,
  extractLastNumber,
  extractOptionLetter,
  isMathAnswerCorrect,
  responseOf,
} from '../../src/eval/answers';
import { commonsenseTask } from '../../src/tasks/tasks';
import { accuracy, f1, glueMetrics, matthewsCorrelation, pearson, spearman } from '../../src/eval/glue-metrics';

describe('answer extraction', () => {
  it('takes the response after ### Response:', () => {
    expect(responseOf('Below is ...\n### Instruction:\nQ?\n\n### Response:\n  the answer is true \n')).toBe(
      'the answer is true',
    );
  });

  it.each([
    ['boolq', 'I think false, not true', 'false'],
    ['piqa', 'solution2 is better than solution1', 'solution2'],
    ['ARC-Easy', 'the correct answer is answer3', 'answer3'],
    ['hellaswag', 'ending4', 'ending4'],
    ['winogrande', 'Option1 or option2', 'option2'],
    ['boolq', 'True', ''],
  ])('%s: the first case-sensitive match in %j is %j', (dataset, response, expected) => {
    expect(extractCommonsenseAnswer(dataset, response)).toBe(expected);
  });

  it('infers the dataset from a label, as LoNAS does during search', () => {
    expect(['true', 'solution1', 'answer2', 'ending3', 'option1'].map(commonsenseDatasetOfLabel)).toEqual([
      'boolq',
      'piqa',
      'ARC-Easy',
      'hellaswag',
      'winogrande',
    ]);
  });

  it("judges a test set of the user's own by its labels' format", () => {
    expect(commonsenseTask.judge('compare', 'the correct answer is false', 'false')).toEqual({
      pred: 'false',
      correct: true,
    });
    expect(commonsenseTask.judge('choose', 'the correct answer is option1', 'option2')).toEqual({
      pred: 'option1',
      correct: false,
    });
    // LoNAS's own datasets keep their patterns: winogrande answers are not read as boolq's.
    expect(commonsenseTask.judge('winogrande', 'true', 'option1').pred).toBe('');
  });

  it('reads math answers: the last number, commas dropped; AQuA letters; a 0.001 tolerance', () => {
    expect(extractLastNumber('She has 1,234 apples and gives 12.5 away, so -3.')).toBe(-3);
    expect(extractLastNumber('no numbers here')).toBe(Infinity);
    expect(extractOptionLetter('Among them, (C)')).toBe('A'); // the A of a word, as in LoNAS
    expect(extractOptionLetter('(C) 12')).toBe('C');
    expect(isMathAnswerCorrect('so the total is 18.0004', '18')).toBe(true);
    expect(isMathAnswerCorrect('so the total is 18.01', '18')).toBe(false);
    expect(isMathAnswerCorrect('(D)', 'D')).toBe(true);
  });
});

describe('GLUE metrics, on cases worked out by hand', () => {
  const predictions = [1, 1, 0, 0, 1, 0];
  const labels = [1, 0, 0, 1, 1, 0];
  // tp 2, fp 1, tn 2, fn 1.
  it('accuracy, F1 and Matthews correlation', () => {
    expect(accuracy(predictions, labels)).toBeCloseTo(4 / 6, 12);
    expect(f1(predictions, labels)).toBeCloseTo(4 / 6, 12);
    expect(matthewsCorrelation(predictions, labels)).toBeCloseTo((2 * 2 - 1 * 1) / Math.sqrt(3 * 3 * 3 * 3), 12);
    expect(matthewsCorrelation([1, 1], [1, 1])).toBe(0);
  });

  it('Pearson and Spearman (ties averaged)', () => {
    expect(pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(pearson([1, 2, 3], [1, 3, 2])).toBeCloseTo(0.5, 12);
    expect(spearman([1, 2, 3, 4], [1, 4, 9, 16])).toBeCloseTo(1, 12);
    // ranks of [1, 2, 2, 3] are [1, 2.5, 2.5, 4].
    expect(spearman([1, 2, 2, 3], [1, 2, 3, 4])).toBeCloseTo(pearson([1, 2.5, 2.5, 4], [1, 2, 3, 4]), 12);
  });

  it("chooses each task's metrics and search objective", () => {
    expect(glueMetrics('mrpc', predictions, labels).objective).toBe('accuracy');
    expect(Object.keys(glueMetrics('mrpc', predictions, labels).metrics)).toEqual(['accuracy', 'f1']);
    expect(glueMetrics('cola', predictions, labels).objective).toBe('matthews_correlation');
    expect(glueMetrics('stsb', [1, 2], [1, 2]).metrics).toEqual({ pearson: 1, spearmanr: 1 });
  });
});
