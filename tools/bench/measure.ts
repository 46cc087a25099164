import * as tf from '@tensorflow/tfjs-core';

export interface Timing {
  median_ms: number;
  runs: number;
}

type TensorWork = () => tf.Tensor | tf.Tensor[];

/** Wall time of one run; reading a result back forces the work to finish, then it is disposed. */
function timeOnce(body: TensorWork): number {
  const start = performance.now();
  const out = tf.tidy(body);
  const outs = Array.isArray(out) ? out : [out];
  outs[0].dataSync();
  const elapsed = performance.now() - start;
  tf.dispose(outs);
  return elapsed;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Median wall times of several bodies over `runs` rounds after `warmup` untimed ones. The
 * bodies take turns within each round, so a ratio between them is not skewed by the machine
 * getting busier or quieter between two separate measurements.
 */
export function timeInterleaved(bodies: TensorWork[], runs: number, warmup = 2): Timing[] {
  for (let i = 0; i < warmup; i++) bodies.forEach(timeOnce);
  const times = bodies.map((): number[] => []);
  for (let round = 0; round < runs; round++) bodies.forEach((body, i) => times[i].push(timeOnce(body)));
  return times.map((t) => ({ median_ms: Number(median(t).toFixed(3)), runs }));
}

/** Median wall times of async tasks (work that awaits its reads), interleaved as timeInterleaved's bodies. */
export async function timeTasksInterleaved(
  tasks: Array<() => Promise<unknown>>,
  runs: number,
  warmup = 2,
): Promise<Timing[]> {
  const timeTask = async (task: () => Promise<unknown>) => {
    const start = performance.now();
    await task();
    return performance.now() - start;
  };
  for (let i = 0; i < warmup; i++) for (const task of tasks) await timeTask(task);
  const times = tasks.map((): number[] => []);
  for (let round = 0; round < runs; round++)
    for (const [i, task] of tasks.entries()) times[i].push(await timeTask(task));
  return times.map((t) => ({ median_ms: Number(median(t).toFixed(3)), runs }));
}

/** Median wall time of `body` over `runs` runs after `warmup` untimed ones. */
export function timeMedian(body: TensorWork, runs: number, warmup = 2): Timing {
  return timeInterleaved([body], runs, warmup)[0];
}

/** One benchmark result, printed as one JSON line. */
export type BenchRecord = Record<string, string | number | boolean | number[] | null>;

export interface Benchmark {
  name: string;
  description: string;
  run(): AsyncIterable<BenchRecord>;
}

/** a / b to two decimals, the form every ratio in a benchmark line takes. */
export const ratio = (a: number, b: number): number => Number((a / b).toFixed(2));
