import * as fs from 'fs';
import { packagePath } from '../../../src/backend/build-artifacts';
import type { LlamaSizes } from '../random-llama';
import type { ScaleSettings } from '../scale-side';
import { runWithThreads } from '../child-processes';
import { ratio, type BenchRecord, type Benchmark } from '../measure';

/** llama2.c's 15M, 42M and 110M, a 370M shape, and TinyLlama-1.1B; fewer steps as they grow. */
const shapes: Array<{ name: string; sizes: LlamaSizes; steps: number; newTokens: number }> = [
  {
    name: '15M',
    sizes: { hidden: 288, inner: 768, layers: 6, heads: 6, kvHeads: 6, vocab: 32000 },
    steps: 3,
    newTokens: 32,
  },
  {
    name: '42M',
    sizes: { hidden: 512, inner: 1376, layers: 8, heads: 8, kvHeads: 8, vocab: 32000 },
    steps: 3,
    newTokens: 32,
  },
  {
    name: '110M',
    sizes: { hidden: 768, inner: 2048, layers: 12, heads: 12, kvHeads: 12, vocab: 32000 },
    steps: 2,
    newTokens: 16,
  },
  {
    name: '370M',
    sizes: { hidden: 1024, inner: 2816, layers: 24, heads: 16, kvHeads: 16, vocab: 32000 },
    steps: 1,
    newTokens: 8,
  },
  {
    name: 'TinyLlama-1.1B',
    sizes: { hidden: 2048, inner: 5632, layers: 22, heads: 32, kvHeads: 4, vocab: 32000 },
    steps: 1,
    newTokens: 8,
  },
];

const threads = Number(process.env.LONAS_BENCH_THREADS ?? 1);
/** One side of one shape may take this long before it counts as failed. */
const SIDE_TIMEOUT_MS = 8 * 60 * 1000;

interface SideResult {
  train_step_ms: number;
  generate_tokens_per_s: number;
  max_rss_bytes: number;
  estimate_bytes: number;
  heap_after_steps_bytes: number | null;
  backend?: string;
  startup?: string;
  torch?: string;
}

function side(command: string, args: string[]): SideResult | string {
  const run = runWithThreads(command, args, threads, SIDE_TIMEOUT_MS);
  return typeof run === 'string' ? run : (JSON.parse(run.stdout.trim().split('\n').slice(-1)[0]) as SideResult);
}

const params = ({ hidden, inner, layers, heads, kvHeads, vocab }: LlamaSizes) =>
  2 * vocab * hidden + layers * (2 * hidden * hidden + 2 * hidden * (hidden / heads) * kvHeads + 3 * hidden * inner);
const gib = (bytes: number) => Number((bytes / 1024 ** 3).toFixed(2));

/** LoRA training steps and greedy decoding from 15M to 1.1B parameters, each side in its own process. */
export const scaleBenchmark: Benchmark = {
  name: 'scale',
  description:
    'LoRA step (batch 4 x 128) and greedy tokens/s from 15M to 1.1B parameters beside PyTorch, with peak RSS',
  async *run() {
    for (const { name, sizes, steps, newTokens } of shapes) {
      const settings: ScaleSettings = {
        ...sizes,
        batch: 4,
        length: 128,
        rank: 8,
        steps,
        warmup: 1,
        prompt: 16,
        newTokens,
        threads,
      };
      const record: BenchRecord = {
        bench: 'scale',
        shape: name,
        params: params(sizes),
        threads,
        batch: 4,
        length: 128,
      };
      const lonas = side(process.execPath, [
        packagePath('dist', 'tools', 'bench', 'scale-side.js'),
        JSON.stringify(settings),
      ]);
      const python = '/usr/bin/python3';
      const torch = fs.existsSync(python)
        ? side(python, [packagePath('tools', 'reference', 'bench_scale.py'), JSON.stringify(settings)])
        : `${python} is not installed`;
      if (typeof lonas === 'string') record.error = `lonas: ${lonas}`;
      else {
        Object.assign(record, {
          backend: lonas.backend ?? null,
          train_step_ms: Number(lonas.train_step_ms.toFixed(0)),
          generate_tokens_per_s: Number(lonas.generate_tokens_per_s.toFixed(1)),
          peak_rss_gib: gib(lonas.max_rss_bytes),
          estimate_gib: gib(lonas.estimate_bytes),
          wasm_heap_mib:
            lonas.heap_after_steps_bytes === null ? null : Math.round(lonas.heap_after_steps_bytes / 1024 ** 2),
        });
      }
      if (typeof torch === 'string')
        record.error = `${record.error === undefined ? '' : `${record.error}; `}pytorch: ${torch}`;
      else {
        Object.assign(record, {
          pytorch_version: torch.torch ?? null,
          pytorch_train_step_ms: Number(torch.train_step_ms.toFixed(0)),
          pytorch_generate_tokens_per_s: Number(torch.generate_tokens_per_s.toFixed(1)),
          pytorch_peak_rss_gib: gib(torch.max_rss_bytes),
        });
      }
      if (typeof lonas !== 'string' && typeof torch !== 'string') {
        record.train_ratio_to_pytorch = ratio(lonas.train_step_ms, torch.train_step_ms);
        record.rss_ratio_to_pytorch = ratio(lonas.max_rss_bytes, torch.max_rss_bytes);
        record.generate_ratio_to_pytorch = ratio(lonas.generate_tokens_per_s, torch.generate_tokens_per_s);
      }
      yield record;
    }
  },
};
