/** GLUE's metrics (as `evaluate.load("glue", task)` computes them). */

export function accuracy(predictions: number[], labels: number[]): number {
  if (predictions.length === 0) return 0;
  return predictions.filter((p, i) => p === labels[i]).length / predictions.length;
}

/** F1 of the positive class (1). */
export function f1(predictions: number[], labels: number[]): number {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  predictions.forEach((p, i) => {
    if (p === 1 && labels[i] === 1) tp++;
    else if (p === 1) fp++;
    else if (labels[i] === 1) fn++;
  });
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

/** Matthews correlation coefficient of binary predictions (0 when undefined, as sklearn). */
export function matthewsCorrelation(predictions: number[], labels: number[]): number {
  let tp = 0;
  let tn = 0;
  let fp = 0;
  let fn = 0;
  predictions.forEach((p, i) => {
    if (p === 1 && labels[i] === 1) tp++;
    else if (p === 0 && labels[i] === 0) tn++;
    else if (p === 1) fp++;
    else fn++;
  });
  const denominator = Math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn));
  return denominator === 0 ? 0 : (tp * tn - fp * fn) / denominator;
}

export function pearson(x: number[], y: number[]): number {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxx === 0 || syy === 0 ? 0 : sxy / Math.sqrt(sxx * syy);
}

/** Ranks with ties given their average rank (scipy's rankdata). */
function ranks(values: number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const result = new Array<number>(values.length);
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end + 1 < order.length && order[end + 1][0] === order[start][0]) end++;
    for (let k = start; k <= end; k++) result[order[k][1]] = (start + end) / 2 + 1;
    start = end + 1;
  }
  return result;
}

export function spearman(x: number[], y: number[]): number {
  return pearson(ranks(x), ranks(y));
}

/** The metric LoNAS's search optimises for a task: Matthews for CoLA, Pearson for STS-B, else accuracy. */
export function glueObjective(task: string): string {
  return task === 'cola' ? 'matthews_correlation' : task === 'stsb' ? 'pearson' : 'accuracy';
}

/** The metrics GLUE reports for a task, and the one LoNAS's search optimises. */
export function glueMetrics(
  task: string,
  predictions: number[],
  labels: number[],
): { metrics: Record<string, number>; objective: string } {
  switch (task) {
    case 'cola':
      return {
        metrics: { matthews_correlation: matthewsCorrelation(predictions, labels) },
        objective: 'matthews_correlation',
      };
    case 'stsb':
      return {
        metrics: { pearson: pearson(predictions, labels), spearmanr: spearman(predictions, labels) },
        objective: 'pearson',
      };
    case 'mrpc':
    case 'qqp':
      return {
        metrics: { accuracy: accuracy(predictions, labels), f1: f1(predictions, labels) },
        objective: 'accuracy',
      };
    default:
      return { metrics: { accuracy: accuracy(predictions, labels) }, objective: 'accuracy' };
  }
}
