import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { selectBackend } from '../../../src/backend';
import { blasAddon } from '../../../src/backend/kernels/blas-addon';
import type { BenchRecord, Benchmark } from '../measure';
import { openTrainingShape, TRAINING_SHAPES, TRAINING_SETTINGS } from './training';

/** Kernel names by the kind of work they do; the rest count as data movement. */
const KINDS: Record<string, string[]> = {
  products: ['BatchMatMul', '_FusedMatMul'],
  elementwise: [
    'Add',
    'AddN',
    'Sub',
    'Multiply',
    'RealDiv',
    'SquaredDifference',
    'Maximum',
    'Minimum',
    'Exp',
    'Log',
    'Neg',
    'Sqrt',
    'Rsqrt',
    'Square',
    'Sigmoid',
    'Tanh',
    'Abs',
    'Reciprocal',
    'Erf',
    'Cast',
    'Step',
    'Pow',
    'Relu',
    'Greater',
    'GreaterEqual',
    'Less',
    'LessEqual',
    'Equal',
    'Select',
    'ZerosLike',
    'OnesLike',
    'Fill',
    'Sign',
  ],
  reductions: ['Sum', 'Mean', 'Max', 'Min', 'Prod', 'Softmax', 'ArgMax', 'UnsortedSegmentSum'],
  // tfjs names every tf.customGrad operation so: lonas's fused operations' forwards.
  fused: ['unnamed scope'],
};

function kindOf(kernel: string): string {
  return Object.entries(KINDS).find(([, names]) => names.includes(kernel))?.[0] ?? 'data movement';
}

/**
 * Where one LoRA training step's time goes (`tf.profile` of a step after warm-up steps): kernel
 * time by kind, the forwards of lonas's fused operations, the costliest kernels, and the time
 * outside them (host code: the fused operations' backwards, the optimizer, tfjs's own bookkeeping).
 */
export const profileBenchmark: Benchmark = {
  name: 'profile',
  description: 'kernel time by kind of one LoRA training step, per training shape',
  async *run() {
    await selectBackend({ requested: 'wasm', log: () => {} });
    blasAddon().addon?.setThreads(1);
    for (const shape of TRAINING_SHAPES) {
      const folder = fs.mkdtempSync(path.join(os.tmpdir(), `lonas-profile-${shape.name}-`));
      try {
        const { loaded, training } = openTrainingShape(shape, folder);
        for (let i = 0; i < TRAINING_SETTINGS.warmup; i++) await training.step();
        const start = performance.now();
        const info = await tf.profile(async () => {
          await training.step();
        });
        const wall = performance.now() - start;
        const byKind: Record<string, number> = {};
        const byKernel: Record<string, { ms: number; calls: number }> = {};
        for (const kernel of info.kernels) {
          const time = await kernel.kernelTimeMs;
          const ms = typeof time === 'number' ? time : 0;
          byKind[kindOf(kernel.name)] = (byKind[kindOf(kernel.name)] ?? 0) + ms;
          byKernel[kernel.name] ??= { ms: 0, calls: 0 };
          byKernel[kernel.name].ms += ms;
          byKernel[kernel.name].calls += 1;
        }
        const inKernels = Object.values(byKind).reduce((a, b) => a + b, 0);
        const share = (ms: number) => Number(((100 * ms) / wall).toFixed(1));
        const record: BenchRecord = {
          bench: 'profile',
          shape: shape.name,
          step_ms: Number(wall.toFixed(1)),
          kernel_calls: info.kernels.length,
          peak_mib: Number((info.peakBytes / 2 ** 20).toFixed(1)),
          host_percent: share(wall - inKernels),
        };
        for (const [kind, ms] of Object.entries(byKind)) record[`${kind.replace(' ', '_')}_percent`] = share(ms);
        record.top_kernels = Object.entries(byKernel)
          .sort((a, b) => b[1].ms - a[1].ms)
          .slice(0, 8)
          .map(([name, { ms, calls }]) => `${name} ${ms.toFixed(1)} ms/${calls}`)
          .join(', ');
        yield record;
        training.dispose();
        loaded.model.dispose();
      } finally {
        fs.rmSync(folder, { recursive: true, force: true });
      }
    }
  },
};
