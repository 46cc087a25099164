import {
  commonsensePatterns,
  extractCommonsenseAnswer,
  commonsenseDatasetOfLabel,
  extractLastNumber,
  extractOptionLetter,
  isMathAnswerCorrect,
} from '../eval/answers';

/** The LLM task families of LoNAS's scripts: datasets, generation length, answer checking. */
export interface LlmTask {
  name: 'commonsense' | 'math';
  /** Test datasets in LoNAS's order. */
  datasets: string[];
  maxNewTokens: number;
  /** Judge a response to a sample of `dataset` (undefined: infer from the label, as during search). */
  judge(dataset: string | undefined, response: string, answer: string): { pred: string; correct: boolean };
}

export const commonsenseTask: LlmTask = {
  name: 'commonsense',
  datasets: ['boolq', 'piqa', 'social_i_qa', 'winogrande', 'ARC-Easy', 'ARC-Challenge', 'openbookqa', 'hellaswag'],
  maxNewTokens: 32,
  // A test set of the user's own (not one of LoNAS's eight) is judged by its labels' format.
  judge(dataset, response, answer) {
    const known = dataset !== undefined && dataset in commonsensePatterns;
    const pred = extractCommonsenseAnswer(known ? dataset : commonsenseDatasetOfLabel(answer), response);
    return { pred, correct: pred === answer };
  },
};

export const mathTask: LlmTask = {
  name: 'math',
  datasets: ['AQuA', 'mawps', 'gsm8k', 'SVAMP'],
  maxNewTokens: 256,
  judge(_dataset, response, answer) {
    const numeric = answer.trim() !== '' && Number.isFinite(Number(answer));
    const pred = numeric ? String(extractLastNumber(response)) : extractOptionLetter(response);
    return { pred, correct: isMathAnswerCorrect(response, answer) };
  },
};
