import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { selectBackend } from '../../../src/backend';
import { packagePath } from '../../../src/backend/build-artifacts';
import { blasAddon } from '../../../src/backend/kernels/blas-addon';
import { generate } from '../../../src/eval/generate';
import { loadCausalLM } from '../../../src/models/registry';
import { SeededRandom } from '../../../src/util/seeded-random';
import { llamaCheckpoint, writeCheckpointFolder, type LlamaShape } from '../../tiny-checkpoints/make';
import { writeLlama2c, writeLlama2cTokenizer } from '../../tiny-checkpoints/llama2c';
import { llamaTokenizerJson } from '../../tiny-checkpoints/tokenizers';
import { runWithThreads } from '../child-processes';
import { ratio, timeTasksInterleaved, type BenchRecord, type Benchmark } from '../measure';

/** llama2.c's stories260K and stories15M shapes. */
const shapes: Array<{ name: string; shape: LlamaShape }> = [
  {
    name: 'stories260K',
    shape: { hidden: 64, inner: 172, layers: 5, heads: 8, kvHeads: 4, maxPositions: 512, vocab: 512 },
  },
  {
    name: 'stories15M',
    shape: { hidden: 288, inner: 768, layers: 6, heads: 6, kvHeads: 6, maxPositions: 256, vocab: 32000 },
  },
];

/** Greedy: one prompt of 16 tokens, 128 new. Task: boolq-sized prompts, 4 beams, 32 new tokens, batches of 8. */
const SETTINGS = {
  greedyPrompt: 16,
  newTokens: 128,
  taskPrompts: 16,
  taskLengths: [40, 80],
  taskNewTokens: 32,
  beams: 4,
  evalBatch: 8,
  runs: 3,
};

const threads = Number(process.env.LONAS_BENCH_THREADS ?? 1);

const runChild = (command: string, args: string[]) => runWithThreads(command, args, threads);

interface TorchResult {
  greedy_ms_per_token: number;
  greedy_ids: number[];
  task_s: number;
  task_ids: number[][];
  torch: string;
}

function pytorch(folder: string, greedyPrompt: number[], taskPrompts: number[][]): TorchResult | string {
  const python = '/usr/bin/python3';
  if (!fs.existsSync(python)) return `${python} is not installed`;
  const settings = path.join(folder, 'generation-settings.json');
  fs.writeFileSync(
    settings,
    JSON.stringify({
      threads,
      runs: SETTINGS.runs,
      greedy_prompt: greedyPrompt,
      new_tokens: SETTINGS.newTokens,
      task_prompts: taskPrompts,
      task_new_tokens: SETTINGS.taskNewTokens,
      beams: SETTINGS.beams,
      eval_batch: SETTINGS.evalBatch,
    }),
  );
  const out = runChild(python, [packagePath('tools', 'reference', 'bench_generate.py'), folder, settings]);
  if (typeof out === 'string') {
    return out.includes("No module named 'torch'")
      ? 'python3-torch is not installed (apt-get install python3-torch)'
      : out;
  }
  return JSON.parse(out.stdout) as TorchResult;
}

/**
 * llama2.c's run.c greedy tokens/s on the same shape (random weights of its own), built from
 * the checkout LONAS_LLAMA2C names; otherwise why not.
 */
function runC(folder: string, hfFolder: string, vocab: number): number | string {
  const checkout = process.env.LONAS_LLAMA2C;
  if (checkout === undefined) return 'set LONAS_LLAMA2C to a llama2.c checkout to compare with its run.c';
  const binary = path.join(folder, 'run');
  const built = runChild('gcc', ['-O3', '-o', binary, path.join(checkout, 'run.c'), '-lm']);
  if (typeof built === 'string') return `run.c does not build: ${built}`;
  const model = path.join(folder, 'model.bin');
  const tokenizer = path.join(folder, 'tokenizer.bin');
  writeLlama2c(hfFolder, model, { seqLen: SETTINGS.newTokens + 16, silencedTokens: [1] });
  writeLlama2cTokenizer(tokenizer, vocab);
  const rates: number[] = [];
  for (let i = 0; i < SETTINGS.runs; i++) {
    // run.c counts its prompt (BOS, a space, 'a') in its steps.
    const run = runChild(binary, [model, '-z', tokenizer, '-t', '0', '-n', String(SETTINGS.newTokens + 3), '-i', 'a']);
    if (typeof run === 'string') return `run.c failed: ${run}`;
    const rate = /achieved tok\/s: ([\d.]+)/.exec(run.stderr);
    if (rate === null) return 'run.c printed no tokens/s';
    rates.push(Number(rate[1]));
  }
  return rates.sort((a, b) => a - b)[Math.floor(rates.length / 2)];
}

async function* benchShape(name: string, shape: LlamaShape): AsyncGenerator<BenchRecord> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), `lonas-bench-generation-${name}-`));
  try {
    const hfFolder = path.join(folder, 'hf');
    writeCheckpointFolder(hfFolder, llamaCheckpoint(new SeededRandom(0), shape, llamaTokenizerJson(), 0.05));
    const vocab = shape.vocab as number;
    const random = new SeededRandom(1);
    const tokens = (length: number) => Array.from({ length }, () => 3 + random.below(vocab - 3));
    const greedyPrompt = tokens(SETTINGS.greedyPrompt);
    const [low, high] = SETTINGS.taskLengths;
    const taskPrompts = Array.from({ length: SETTINGS.taskPrompts }, () => tokens(low + random.below(high - low + 1)));
    const model = loadCausalLM(hfFolder);
    const params = [...model.linears.entries()].reduce((n, [, l]) => n + l.inFeatures * l.outFeatures, 0);
    const greedy = async (hostDecoding: boolean) =>
      (await generate(model, [greedyPrompt], { maxNewTokens: SETTINGS.newTokens, eosTokenIds: [], hostDecoding }))
        .sequences[0];
    const task = async () => {
      const out: number[][] = [];
      for (let i = 0; i < taskPrompts.length; i += SETTINGS.evalBatch) {
        const batch = taskPrompts.slice(i, i + SETTINGS.evalBatch);
        const settings = { maxNewTokens: SETTINGS.taskNewTokens, numBeams: SETTINGS.beams, eosTokenIds: [] };
        out.push(...(await generate(model, batch, settings)).sequences);
      }
      return out;
    };
    const [host, tensors] = await timeTasksInterleaved([() => greedy(true), () => greedy(false)], SETTINGS.runs, 1);
    const [taskTiming] = await timeTasksInterleaved([task], SETTINGS.runs, 1);
    const hostIds = await greedy(true);
    const taskIds = await task();
    const record: BenchRecord = {
      bench: 'generation',
      shape: name,
      params,
      threads,
      greedy_tokens_per_s: Number(((1000 * SETTINGS.newTokens) / host.median_ms).toFixed(1)),
      tfjs_greedy_tokens_per_s: Number(((1000 * SETTINGS.newTokens) / tensors.median_ms).toFixed(1)),
      outputs_match_tfjs: JSON.stringify(hostIds) === JSON.stringify(await greedy(false)),
      task_prompts_per_s: Number(((1000 * SETTINGS.taskPrompts) / taskTiming.median_ms).toFixed(2)),
    };
    model.dispose();
    const torch = pytorch(hfFolder, greedyPrompt, taskPrompts);
    if (typeof torch === 'string') {
      record.pytorch = torch;
    } else {
      record.pytorch_version = torch.torch;
      record.pytorch_greedy_tokens_per_s = Number((1000 / torch.greedy_ms_per_token).toFixed(1));
      record.greedy_ratio_to_pytorch = ratio(record.greedy_tokens_per_s as number, record.pytorch_greedy_tokens_per_s);
      record.pytorch_task_prompts_per_s = Number((SETTINGS.taskPrompts / torch.task_s).toFixed(2));
      record.task_ratio_to_pytorch = ratio(record.task_prompts_per_s as number, record.pytorch_task_prompts_per_s);
      record.greedy_ids_match_pytorch = JSON.stringify(hostIds) === JSON.stringify(torch.greedy_ids);
      record.task_ids_match_pytorch =
        taskIds.filter((ids, i) => JSON.stringify(ids) === JSON.stringify(torch.task_ids[i])).length / taskIds.length;
    }
    const c = runC(folder, hfFolder, vocab);
    if (typeof c === 'string') record.run_c = c;
    else {
      record.run_c_tokens_per_s = Number(c.toFixed(1));
      record.greedy_ratio_to_run_c = ratio(record.greedy_tokens_per_s as number, c);
    }
    yield record;
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

/** Greedy and beam-search generation on llama2.c's two smallest shapes, beside PyTorch and run.c. */
export const generationBenchmark: Benchmark = {
  name: 'generation',
  description: 'greedy tokens/s and 4-beam task throughput beside PyTorch (same cache and batching) and llama2.c run.c',
  async *run() {
    await selectBackend({ requested: 'wasm', log: () => {} });
    blasAddon().addon?.setThreads(threads);
    for (const { name, shape } of shapes) yield* benchShape(name, shape);
  },
};
