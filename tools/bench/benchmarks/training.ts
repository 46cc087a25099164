import * as tf from '@tensorflow/tfjs-core';
import { BatchMatMul, GatherV2, Identity } from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { selectBackend } from '../../../src/backend';
import { packagePath } from '../../../src/backend/build-artifacts';
import { blasAddon } from '../../../src/backend/kernels/blas-addon';
import { withKernel, withStockKernelsFor } from '../../../src/backend/kernels/register-kernel-patches';
import { wasmBatchMatMulConfig } from '../../../src/backend/kernels/wasm-batch-matmul';
import { generate } from '../../../src/eval/generate';
import { openCheckpoint } from '../../../src/models/checkpoint';
import { fixedNetworkConfig } from '../../../src/nas/nas-config';
import { openSuperNetwork } from '../../../src/nas/open-super-network';
import { taskLoss } from '../../../src/train/task-loss';
import type { MicroBatch } from '../../../src/train/batches';
import type { LoadedModel } from '../../../src/models/registry';
import { tensorScoring } from '../../../src/eval/tensor-scoring';
import { SeededRandom } from '../../../src/util/seeded-random';
import {
  bertCheckpoint,
  bloomCheckpoint,
  llamaCheckpoint,
  writeCheckpointFolder,
  type TinyCheckpoint,
} from '../../tiny-checkpoints/make';
import { bertTokenizerJson, bloomTokenizerJson, llamaTokenizerJson } from '../../tiny-checkpoints/tokenizers';
import { runWithThreads } from '../child-processes';
import { loraTrainStep, type LoraTrainStep } from '../lora-step';
import { timeTasksInterleaved, type BenchRecord, type Benchmark } from '../measure';

export interface Shape {
  name: string;
  checkpoint: (random: SeededRandom) => TinyCheckpoint;
  targets: string[];
  batch: number;
  length: number;
}

/** The shapes `bench training` and `bench profile` time. */
export const TRAINING_SHAPES: Shape[] = [
  {
    // llama2.c's stories260K: dim 64, hidden 172, 5 layers, 8 heads (4 key/value), vocabulary 512.
    name: 'stories260K',
    checkpoint: (random) =>
      llamaCheckpoint(
        random,
        { hidden: 64, inner: 172, layers: 5, heads: 8, kvHeads: 4, maxPositions: 512, vocab: 512 },
        llamaTokenizerJson(),
        0.05,
      ),
    targets: ['q_proj', 'k_proj', 'v_proj', 'up_proj', 'gate_proj', 'down_proj'],
    batch: 8,
    length: 128,
  },
  {
    // BERT-tiny: 2 layers, hidden 128, 2 heads, intermediate 512.
    name: 'bert-tiny',
    checkpoint: (random) =>
      bertCheckpoint(random, { hidden: 128, inner: 512, layers: 2, heads: 2, positions: 512 }, bertTokenizerJson()),
    targets: ['query', 'key', 'value', 'intermediate.dense', 'output.dense'],
    batch: 8,
    length: 128,
  },
  {
    // A small BLOOM: hidden 256, 4 layers, 4 heads, ALiBi, fused query_key_value, GELU MLP.
    name: 'bloom-small',
    checkpoint: (random) => bloomCheckpoint(random, { hidden: 256, layers: 4, heads: 4 }, bloomTokenizerJson()),
    targets: ['query_key_value', 'dense_h_to_4h', 'dense_4h_to_h'],
    batch: 8,
    length: 128,
  },
];

export const TRAINING_SETTINGS = { rank: 8, alpha: 16, steps: 15, warmup: 3, newTokens: 64, prompt: 16 };

/** Threads for OpenBLAS and PyTorch alike (LONAS_BENCH_THREADS, default 1: wasm runs on one). */
const threads = Number(process.env.LONAS_BENCH_THREADS ?? 1);

/** PyTorch's timings of the same step (tools/reference/bench_step.py), or why there are none. */
function pytorchTimings(folder: string, shape: Shape): Record<string, number | null> | string {
  const python = '/usr/bin/python3';
  if (!fs.existsSync(python)) return `${python} is not installed`;
  const settings = path.join(folder, 'bench-settings.json');
  fs.writeFileSync(
    settings,
    JSON.stringify({
      ...TRAINING_SETTINGS,
      new_tokens: TRAINING_SETTINGS.newTokens,
      batch: shape.batch,
      length: shape.length,
      targets: shape.targets,
      threads,
    }),
  );
  const script = packagePath('tools', 'reference', 'bench_step.py');
  // OpenBLAS's own threads too: torch.set_num_threads does not reach them.
  const run = runWithThreads(python, [script, folder, settings], threads);
  if (typeof run === 'string') {
    const reason = run.includes("No module named 'torch'")
      ? 'python3-torch is not installed (apt-get install python3-torch)'
      : run;
    return `PyTorch reference failed: ${reason}`;
  }
  return JSON.parse(run.stdout);
}

/**
 * The kernel paths to compare: tfjs's stock BatchMatMul, GatherV2 and Identity (tfjs has no wasm
 * UnsortedSegmentSum, so lonas's serves every path), lonas's wasm GEMM, and OpenBLAS when built.
 */
function paths(): Array<[string, <T>(body: () => T) => T]> {
  const list: Array<[string, <T>(body: () => T) => T]> = [
    ['stock', (body) => withStockKernelsFor('wasm', [BatchMatMul, GatherV2, Identity], body)],
    ['lonas-gemm', (body) => withKernel(wasmBatchMatMulConfig, body)],
  ];
  const addon = blasAddon().addon;
  if (addon !== undefined) {
    addon.setThreads(threads);
    list.push(['openblas', (body) => body()]);
  }
  return list;
}

/**
 * A training shape's random checkpoint written to `folder` and opened with its LoRA adapter, and
 * the LoRA training step on it (bench training and bench profile time it).
 */
export function openTrainingShape(shape: Shape, folder: string): { loaded: LoadedModel; training: LoraTrainStep } {
  writeCheckpointFolder(folder, shape.checkpoint(new SeededRandom(0)));
  const { rank, alpha } = TRAINING_SETTINGS;
  const { loaded, network } = openSuperNetwork(openCheckpoint(folder), fixedNetworkConfig('bench'), {
    lora: { targetModules: shape.targets, rank, alpha, dropout: 0, modulesToSave: [] },
  });
  const vocab = Number(openCheckpoint(folder).config.vocab_size);
  return { loaded, training: loraTrainStep(loaded, network, { batch: shape.batch, length: shape.length, vocab }) };
}

/** One scoring forward over `batch`, awaited as evaluation awaits it. */
function scoringForward(loaded: LoadedModel, batch: MicroBatch): () => Promise<unknown> {
  if (loaded.kind === 'sequence-classification') {
    const scoring = loaded.model.hostScoring() ?? tensorScoring(loaded.model);
    return () => scoring.logits(batch);
  }
  const loss = taskLoss(loaded);
  return async () => {
    const value = tf.tidy(() => loss(batch));
    await value.data();
    value.dispose();
  };
}

async function* benchShape(shape: Shape): AsyncGenerator<BenchRecord> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), `lonas-bench-${shape.name}-`));
  try {
    const { loaded, training } = openTrainingShape(shape, folder);
    const trainStep = training.step;
    const { batch } = training;
    // Scoring as evaluation and search pay it: a classifier's logits on the path GLUE takes (the
    // host forward where it applies), a causal LM's loss forward over the training batch.
    const scoringPath = loaded.kind === 'sequence-classification' && loaded.model.hostScoring() ? 'host' : 'tfjs';
    const forward = scoringForward(loaded, batch);
    // Generation where PyTorch's reference decodes too (LLaMA).
    const generation =
      loaded.kind === 'causal-lm' && loaded.model.config.modelType === 'llama'
        ? () =>
            generate(loaded.model, [batch.inputIds[0].slice(0, TRAINING_SETTINGS.prompt)], {
              maxNewTokens: TRAINING_SETTINGS.newTokens,
              numBeams: 1,
            })
        : undefined;
    const torch = pytorchTimings(folder, shape);
    for (const [name, run] of paths()) {
      const [step, scoring, generating] = await run(() =>
        timeTasksInterleaved(
          [trainStep, forward, ...(generation === undefined ? [] : [generation])],
          TRAINING_SETTINGS.steps,
          TRAINING_SETTINGS.warmup,
        ),
      );
      const record: BenchRecord = {
        bench: 'training',
        shape: shape.name,
        kernels: name,
        batch: shape.batch,
        length: shape.length,
        lora_rank: TRAINING_SETTINGS.rank,
        threads,
        train_step_ms: step.median_ms,
        train_steps_per_s: Number((1000 / step.median_ms).toFixed(2)),
        forward_ms: scoring.median_ms,
        forward_path: scoringPath,
      };
      if (generating !== undefined) {
        record.generate_tokens_per_s = Number(((1000 * TRAINING_SETTINGS.newTokens) / generating.median_ms).toFixed(1));
      }
      if (typeof torch === 'string') {
        record.pytorch = torch;
      } else {
        record.pytorch_train_step_ms = Number((torch.train_step_ms as number).toFixed(3));
        record.train_ratio_to_pytorch = Number((step.median_ms / (torch.train_step_ms as number)).toFixed(2));
        record.pytorch_forward_ms = Number((torch.forward_ms as number).toFixed(3));
        record.forward_ratio_to_pytorch = Number((scoring.median_ms / (torch.forward_ms as number)).toFixed(2));
        if (generating !== undefined && torch.generate_ms_per_token !== null) {
          record.pytorch_generate_tokens_per_s = Number((1000 / (torch.generate_ms_per_token as number)).toFixed(1));
        }
      }
      yield record;
    }
    training.dispose();
    loaded.model.dispose();
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

/** LoRA training steps, scoring forwards and generation on LLaMA, BERT and BLOOM shapes, each matmul path against PyTorch. */
export const trainingBenchmark: Benchmark = {
  name: 'training',
  description:
    'LoRA training step, scoring forward and generation per matmul path, with PyTorch timings of the same work',
  async *run() {
    await selectBackend({ requested: 'wasm', log: () => {} });
    for (const shape of TRAINING_SHAPES) yield* benchShape(shape);
  },
};
