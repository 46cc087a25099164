import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { from, lastValueFrom, toArray } from 'rxjs';
import { inProcessPool, type EvaluatorPool } from '../../../actors/evaluator-pool';
import { search } from '../../../actors/search';
import { searchPlanOf, taskOf } from '../../../actors/validate-experiment';
import { workerPool } from '../../../actors/worker-pool';
import { packagePath } from '../../../src/backend/build-artifacts';
import { blasAddon } from '../../../src/backend/kernels/blas-addon';
import type { ExperimentConfig } from '../../../src/experiment/experiment-config';
import { openExperiment } from '../../../src/experiment/open-experiment';
import { subnetCost } from '../../../src/nas/cost';
import { readNasConfig } from '../../../src/nas/nas-config';
import type { BenchRecord, Benchmark } from '../measure';

/** Evaluators to compare: this process alone, then worker threads and worker processes. */
const SETUPS: Array<{ workers: number; transport: 'in-process' | 'thread' | 'process' }> = [
  { workers: 1, transport: 'in-process' },
  { workers: 2, transport: 'thread' },
  { workers: 2, transport: 'process' },
];

/** 3 NSGA-II generations of 8 over the demo's space (24 subnets), after the max subnet. */
const SEARCH = { num_evals: 24, population: 8 };

/** Rounds of every setup (LONAS_BENCH_ROUNDS, default 3); each record gives the medians. */
const ROUNDS = Number(process.env.LONAS_BENCH_ROUNDS ?? 3);

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const rowsOf = (file: string) => new Set(fs.readFileSync(file, 'utf8').trim().split('\n'));
const sameRows = (a: string, b: string) => {
  const [x, y] = [rowsOf(a), rowsOf(b)];
  return x.size === y.size && [...x].every((row) => y.has(row));
};

/**
 * The same search (the demo's model, task and validation set: tools/demo, 200 held-out records,
 * greedy generation of 6 tokens in batches of 50) with one evaluator in this process, then with
 * 2 evaluator workers as threads and as processes. Each pool first scores one candidate per worker
 * (its start-up: loading, reported apart), then the search is timed; medians over rounds in which
 * the setups take turns. The in-process evaluator runs OpenBLAS on its default threads (one per
 * core), each worker on 1.
 */
export const searchBenchmark: Benchmark = {
  name: 'search',
  description: 'a search on the demo model with 1 in-process evaluator and 2 evaluator workers',
  async *run(): AsyncGenerator<BenchRecord> {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'lonas-bench-search-'));
    try {
      const nncf = JSON.parse(fs.readFileSync(packagePath('configs', 'demo-commonsense.json'), 'utf8'));
      nncf.bootstrapNAS.search = { ...nncf.bootstrapNAS.search, ...SEARCH };
      const nncfConfig = path.join(folder, 'config.json');
      fs.writeFileSync(nncfConfig, JSON.stringify(nncf));
      const demo = (...parts: string[]) => packagePath('tools', 'demo', ...parts);
      const config: ExperimentConfig = {
        task: {
          kind: 'commonsense',
          datasetPath: demo('data', 'train.json'),
          valSetSize: 200,
          datasetsDir: demo('data', 'datasets'),
          cutoffLen: 128,
          trainOnInputs: false,
          numBeams: 1,
          maxNewTokens: 6,
        },
        model: demo('model'),
        nncfConfig,
        outputDir: folder,
        phases: { train: false, eval: false, test: false, search: true },
        lora: {},
        training: {
          batchSize: 16,
          gradientAccumulationSteps: 1,
          seed: 0,
          weightDecay: 0,
          optim: 'adamw_torch',
          saveStrategy: 'no',
          resume: false,
          evaluationStrategy: 'no',
        },
        evalBatchSize: 50,
      };
      const nasConfig = readNasConfig(nncfConfig);
      let backend = '';
      const opened = await openExperiment(
        config,
        nasConfig,
        taskOf(config.task),
        {
          emit: () => {},
          output: { writeJson: () => {}, mergeJson: () => {} },
          signal: new AbortController().signal,
        },
        (line) => (backend = line),
      );
      const objective = opened.bound.objective?.();
      if (objective === undefined) throw new Error('the demo task has no validation set');
      const { network, tokens } = opened;
      const space = network.plan.space;
      const plan = searchPlanOf(nasConfig);
      const blas = blasAddon();
      yield {
        bench: 'search',
        backend: backend.replace(/^lonas: backend /, ''),
        openblas: blas.addon === undefined ? `off (${blas.reason})` : blas.reason,
        cpus: os.availableParallelism(),
        validation_examples: objective.examples,
      };

      const cost = (subnet: Parameters<typeof subnetCost>[1]) => subnetCost(network.plan, subnet, { tokens });
      /** One timed search with `setup`'s evaluators, into a fresh folder. */
      const measure = async (setup: (typeof SETUPS)[number], outputDir: string) => {
        const startup = performance.now();
        const pool: EvaluatorPool =
          setup.transport === 'in-process'
            ? inProcessPool((subnet) => objective.score(subnet))
            : workerPool({ size: setup.workers, config, transport: setup.transport, logBackend: false });
        try {
          // One candidate per worker, outside the search, so that every worker has loaded its model.
          const warmUp = Array.from({ length: setup.workers }, (_, i) => ({
            key: `warm-up-${i}`,
            subnet: space.minimal(),
          }));
          await lastValueFrom(pool.evaluate(from(warmUp)).pipe(toArray()));
          const startupSeconds = (performance.now() - startup) / 1000;
          const start = performance.now();
          const result = await search({
            ...plan.search(space),
            macs: (subnet) => cost(subnet).macs / 1e6,
            evaluators: pool,
            outputDir,
          });
          return { seconds: (performance.now() - start) / 1000, startupSeconds, candidates: result.computed };
        } finally {
          await pool.close();
        }
      };
      // The setups take turns within each round, so a machine getting busier or quieter between
      // rounds skews no ratio.
      const runs = SETUPS.map(() => [] as Array<{ seconds: number; startupSeconds: number; candidates: number }>);
      let sameResults = true;
      for (let round = 0; round < ROUNDS; round++) {
        const serialDir = path.join(folder, `round-${round}-serial`);
        for (const [i, setup] of SETUPS.entries()) {
          const outputDir = i === 0 ? serialDir : path.join(folder, `round-${round}-${setup.transport}`);
          runs[i].push(await measure(setup, outputDir));
          for (const file of ['search_progression.csv', 'cache_top1_acc.csv', 'cache_MACs.csv']) {
            sameResults &&= sameRows(path.join(serialDir, file), path.join(outputDir, file));
          }
        }
      }
      const serialSeconds = median(runs[0].map((r) => r.seconds));
      for (const [i, setup] of SETUPS.entries()) {
        const seconds = median(runs[i].map((r) => r.seconds));
        const candidates = runs[i][0].candidates;
        yield {
          bench: 'search',
          workers: setup.workers,
          transport: setup.transport,
          candidates,
          seconds: Number(seconds.toFixed(2)),
          candidates_per_second: Number((candidates / seconds).toFixed(3)),
          startup_seconds: Number(median(runs[i].map((r) => r.startupSeconds)).toFixed(2)),
          speed_up: Number((serialSeconds / seconds).toFixed(2)),
          rounds: ROUNDS,
          seconds_per_round: runs[i].map((r) => Number(r.seconds.toFixed(2))),
        };
      }
      yield { bench: 'search', same_results: sameResults };
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  },
};
