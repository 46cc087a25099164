/**
 * lonas's side of `npm run bench scale` for one shape, in a process of its own so its peak RSS
 * is the shape's: `node dist/tools/bench/scale-side.js '<settings json>'` prints one JSON object.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { selectBackend } from '../../src/backend';
import { wasmInternals } from '../../src/backend/kernels/wasm-internals';
import { blasAddon } from '../../src/backend/kernels/blas-addon';
import { estimateMemory } from '../../src/experiment/estimate-memory';
import { generate } from '../../src/eval/generate';
import { architectureFromConfig } from '../../src/models/registry';
import { defaultLora, fixedNetworkConfig } from '../../src/nas/nas-config';
import { openSuperNetwork } from '../../src/nas/open-super-network';
import { errorMessage } from '../../src/util/error-message';
import { loraTrainStep } from './lora-step';
import { timeTasksInterleaved } from './measure';
import { randomLlama, type LlamaSizes } from './random-llama';

export interface ScaleSettings extends LlamaSizes {
  batch: number;
  length: number;
  rank: number;
  steps: number;
  warmup: number;
  prompt: number;
  newTokens: number;
  threads: number;
  /** The backend to ask for; default: chosen by the run's size, as every run does. */
  backend?: string;
}

async function main(settings: ScaleSettings): Promise<void> {
  const checkpoint = randomLlama(settings);
  const lora = { ...defaultLora.llama, rank: settings.rank, alpha: 2 * settings.rank, dropout: 0 };
  const architecture = architectureFromConfig(checkpoint.config, checkpoint.location);
  const memory = estimateMemory(architecture, checkpoint.config, {
    sequences: settings.batch,
    tokens: settings.length,
    training: true,
    lora,
  });
  let startup = '';
  const choice = await selectBackend({ requested: settings.backend, memory, log: (line) => (startup = line) });
  blasAddon().addon?.setThreads(settings.threads);
  const { loaded, network } = openSuperNetwork(checkpoint, fixedNetworkConfig('bench scale'), { lora });
  if (loaded.kind !== 'causal-lm') throw new Error('expected a causal LM');
  const training = loraTrainStep(loaded, network, settings);
  const [step] = await timeTasksInterleaved([training.step], settings.steps, settings.warmup);
  // The heap wasm grew to over the steps: what the memory estimate's training factor is fitted to.
  const heapBytes =
    choice.name === 'wasm' ? wasmInternals(tf.backend() as BackendWasm).wasm.asm.memory.buffer.byteLength : null;
  const prompt = training.batch.inputIds[0].slice(0, settings.prompt);
  const start = performance.now();
  await generate(loaded.model, [prompt], { maxNewTokens: settings.newTokens, eosTokenIds: [] });
  const generateSeconds = (performance.now() - start) / 1000;
  training.dispose();
  const result = {
    backend: choice.name,
    adapter: choice.adapter ?? null,
    startup,
    estimate_bytes: memory.total,
    heap_after_steps_bytes: heapBytes,
    train_step_ms: step.median_ms,
    generate_tokens_per_s: settings.newTokens / generateSeconds,
    max_rss_bytes: process.resourceUsage().maxRSS * 1024,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main(JSON.parse(process.argv[2]) as ScaleSettings).catch((error: unknown) => {
  process.stderr.write(`${errorMessage(error)}\n`);
  process.exit(1);
});
