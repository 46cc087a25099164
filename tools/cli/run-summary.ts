import * as fs from 'fs';
import * as path from 'path';

interface SearchOutcome {
  front: Array<{ macs: number; accuracy: number }>;
  best: { macs: number; accuracy: number };
}

/** What each output of a task command holds, in the order a reader wants them. */
const OUTPUTS: Array<[string, string]> = [
  ['adapter_model.safetensors', 'the trained super-adapter (PEFT format, with adapter_config.json)'],
  ['test_results.json', "the heuristic subnet's MACs, weights and accuracy per test set"],
  ['eval_results.json', 'GLUE metrics: super-network and minimum subnet (--do_eval), heuristic subnet (--do_test)'],
  ['eval_history.json', 'GLUE metrics of the super-network and minimum subnet after each epoch'],
  ['search_progression.png', 'the search: every candidate and the Pareto front (also .svg and .csv)'],
  ['best_subnet.json', 'the subnet the search picked, with its widths'],
  ['search_summary.json', 'the front, the best subnet and the search settings'],
  ['events.jsonl', 'every event of the run, for lonas replay'],
];

/**
 * The closing lines of a task command: the Pareto front as a table (MACs in millions and as a
 * share of the largest subnet's), the chosen subnet, and where each output is.
 */
export function runSummary(
  command: string,
  outputDir: string,
  results: { search?: SearchOutcome; test?: Record<string, unknown> },
  maxMacs?: number,
): string {
  const lines = [`lonas ${command}: done; outputs in ${outputDir}`];
  const heuristic = Object.entries(results.test ?? {}).filter(([key]) =>
    /accuracy|_(f1|mcc|pearson|spearman)/i.test(key),
  );
  if (heuristic.length > 0) {
    lines.push(
      '',
      'heuristic subnet:',
      ...heuristic.map(([key, value]) => `  ${key.padEnd(32)} ${Number(value).toFixed(4)}`),
    );
  }
  if (results.search !== undefined) {
    const { front, best } = results.search;
    const share = (macs: number) =>
      maxMacs === undefined ? '' : `${((100 * macs) / maxMacs).toFixed(1)}%`.padStart(12);
    lines.push(
      '',
      `Pareto front (${front.length} subnets):`,
      `  ${'MMACs'.padStart(12)}${maxMacs === undefined ? '' : 'of max'.padStart(12)}${'accuracy'.padStart(12)}`,
      ...front.map((p) => `  ${p.macs.toFixed(3).padStart(12)}${share(p.macs)}${p.accuracy.toFixed(4).padStart(12)}`),
      `best: ${best.macs.toFixed(3)} MMACs, accuracy ${best.accuracy.toFixed(4)}`,
    );
  }
  const present = OUTPUTS.filter(([file]) => fs.existsSync(path.join(outputDir, file)));
  if (present.length > 0) {
    lines.push('', 'files:', ...present.map(([file, what]) => `  ${path.join(outputDir, file)}  ${what}`));
  }
  return `${lines.join('\n')}\n`;
}
