import { packagePath } from '../../../src/backend/build-artifacts';
import type { WebGpuAdapter } from '../../../src/backend/webgpu';
import { runWithThreads } from '../child-processes';
import type { BenchRecord, Benchmark } from '../measure';
import type { LlamaSizes } from '../random-llama';
import type { ScaleSettings } from '../scale-side';

/** llama2.c's 15M, 42M and 110M shapes. */
const shapes: Array<{ name: string; sizes: LlamaSizes }> = [
  { name: '15M', sizes: { hidden: 288, inner: 768, layers: 6, heads: 6, kvHeads: 6, vocab: 32000 } },
  { name: '42M', sizes: { hidden: 512, inner: 1376, layers: 8, heads: 8, kvHeads: 8, vocab: 32000 } },
  { name: '110M', sizes: { hidden: 768, inner: 2048, layers: 12, heads: 12, kvHeads: 12, vocab: 32000 } },
];

const threads = Number(process.env.LONAS_BENCH_THREADS ?? 1);
/** A software adapter takes minutes a step at 110M; a shape's side past this counts as failed. */
const SIDE_TIMEOUT_MS = 15 * 60 * 1000;

interface SideResult {
  backend: string;
  adapter: WebGpuAdapter | null;
  train_step_ms: number;
  generate_tokens_per_s: number;
}

/**
 * A LoRA step (batch 4 x 128) and greedy tokens/s on the webgpu adapter present, beside the host
 * backend a run of that size gets (wasm or cpu), each shape and backend in a process of its own.
 * Each webgpu row names its adapter and says whether it is a software one: such numbers prove the
 * path works, never how fast a GPU is.
 */
export const gpuBenchmark: Benchmark = {
  name: 'gpu',
  description: 'LoRA step (batch 4 x 128) and greedy tokens/s on the WebGPU adapter present, beside wasm/cpu',
  async *run() {
    for (const { name, sizes } of shapes) {
      for (const backend of ['webgpu', 'auto']) {
        const settings: ScaleSettings = {
          ...sizes,
          batch: 4,
          length: 128,
          rank: 8,
          // One timed step after one that compiles the GPU pipelines: a software adapter takes minutes a step.
          steps: 1,
          warmup: 1,
          prompt: 16,
          newTokens: 8,
          threads,
          backend,
        };
        const record: BenchRecord = { bench: 'gpu', shape: name, batch: 4, length: 128, asked: backend };
        const run = runWithThreads(
          process.execPath,
          [packagePath('dist', 'tools', 'bench', 'scale-side.js'), JSON.stringify(settings)],
          threads,
          SIDE_TIMEOUT_MS,
        );
        if (typeof run === 'string') {
          record.error = run;
        } else {
          const side = JSON.parse(run.stdout.trim().split('\n').slice(-1)[0]) as SideResult;
          Object.assign(record, {
            backend: side.backend,
            adapter: side.adapter === null ? null : side.adapter.description,
            software: side.adapter === null ? null : side.adapter.software,
            train_step_ms: Number(side.train_step_ms.toFixed(0)),
            generate_tokens_per_s: Number(side.generate_tokens_per_s.toFixed(1)),
          });
        }
        yield record;
      }
    }
  },
};
