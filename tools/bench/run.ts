/**
 * `npm run bench [name...]`: runs the benchmarks (all, or those named) and prints one JSON line
 * per measurement, with medians over repeated runs. Not tests: numbers, to compare and record.
 */
import { generationBenchmark } from './benchmarks/generation';
import { gpuBenchmark } from './benchmarks/gpu';
import { matmulBenchmark } from './benchmarks/matmul';
import { profileBenchmark } from './benchmarks/profile';
import { scaleBenchmark } from './benchmarks/scale';
import { searchBenchmark } from './benchmarks/search';
import { segmentSumBenchmark } from './benchmarks/segment-sum';
import { trainingBenchmark } from './benchmarks/training';
import type { Benchmark } from './measure';
import { errorMessage } from '../../src/util/error-message';

const benchmarks: Benchmark[] = [
  matmulBenchmark,
  segmentSumBenchmark,
  trainingBenchmark,
  profileBenchmark,
  generationBenchmark,
  searchBenchmark,
  scaleBenchmark,
  gpuBenchmark,
];

async function main(names: string[]): Promise<void> {
  const unknown = names.filter((name) => !benchmarks.some((b) => b.name === name));
  if (unknown.length > 0) {
    throw new Error(`unknown benchmark ${unknown.join(', ')}: expected ${benchmarks.map((b) => b.name).join(', ')}`);
  }
  for (const benchmark of benchmarks.filter((b) => names.length === 0 || names.includes(b.name))) {
    for await (const record of benchmark.run()) process.stdout.write(`${JSON.stringify(record)}\n`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`bench: ${errorMessage(error)}\n`);
  process.exit(1);
});
