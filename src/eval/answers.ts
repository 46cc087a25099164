/**
 * Answer extraction as LoNAS's run_commonsense.py and run_math.py do it, from the response after
 * "### Response:".
 */

/** The first-match pattern of each commonsense dataset (case-sensitive). */
export const commonsensePatterns: Record<string, RegExp> = {
  boolq: /true|false/,
  piqa: /solution1|solution2/,
  social_i_qa: /answer1|answer2|answer3|answer4|answer5/,
  'ARC-Easy': /answer1|answer2|answer3|answer4|answer5/,
  'ARC-Challenge': /answer1|answer2|answer3|answer4|answer5/,
  openbookqa: /answer1|answer2|answer3|answer4|answer5/,
  hellaswag: /ending1|ending2|ending3|ending4/,
  winogrande: /option1|option2/,
};

/** The text after the first "### Response:" (LoNAS splits on it), stripped; the whole text if absent. */
export function responseOf(generated: string): string {
  const at = generated.indexOf('### Response:');
  return (at < 0 ? generated : generated.slice(at + '### Response:'.length).split('### Response:')[0]).trim();
}

/** The first match of the dataset's pattern, or '' (counted wrong). */
export function extractCommonsenseAnswer(dataset: string, response: string): string {
  const pattern = commonsensePatterns[dataset];
  if (pattern === undefined) {
    throw new Error(
      `no answer pattern for commonsense dataset '${dataset}' (known: ${Object.keys(commonsensePatterns).join(', ')})`,
    );
  }
  return pattern.exec(response)?.[0] ?? '';
}

/**
 * The dataset a commonsense label belongs to, as LoNAS infers it during search from the label
 * string: true/false -> boolq, solution -> piqa, answer -> ARC-style, ending -> hellaswag, option -> winogrande.
 */
export function commonsenseDatasetOfLabel(label: string): string {
  if (label === 'true' || label === 'false') return 'boolq';
  if (label.includes('solution')) return 'piqa';
  if (label.includes('answer')) return 'ARC-Easy';
  if (label.includes('ending')) return 'hellaswag';
  if (label.includes('option')) return 'winogrande';
  throw new Error(`cannot tell the commonsense dataset of label '${label}'`);
}

/** gsm8k, SVAMP, mawps, AddSub, MultiArith, SingleEq: the last number, commas removed; Infinity if none. */
export function extractLastNumber(response: string): number {
  const numbers = response.replace(/,/g, '').match(/-?\d+\.?\d*/g);
  return numbers === null ? Infinity : Number(numbers[numbers.length - 1]);
}

/** AQuA: the first of A-E anywhere (which can be the A of a word, as in LoNAS). */
export function extractOptionLetter(response: string): string {
  return /A|B|C|D|E/.exec(response)?.[0] ?? '';
}

/** Whether a math response is right: numbers within 0.001 of the label, letters equal. */
export function isMathAnswerCorrect(response: string, label: string): boolean {
  const numeric = Number(label);
  if (label.trim() !== '' && Number.isFinite(numeric)) return Math.abs(numeric - extractLastNumber(response)) <= 0.001;
  return extractOptionLetter(response) === label;
}
