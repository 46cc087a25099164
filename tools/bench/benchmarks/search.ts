import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { from, lastValueFrom, toArray } from 'rxjs';
import { inProcessPool, type EvaluatorPool } from '../../../actors/evaluators/evaluator-pool';
import { queuePool } from '../../../actors/evaluators/queue-pool';
import { search } from '../../../actors/search';
import { searchPlanOf } from '../../../actors/experiment/search-plan';
import { taskOf } from '../../../src/tasks/task-of';
import { workerPool } from '../../../actors/evaluators/worker-pool';
import { packagePath } from '../../../src/backend/build-artifacts';
import { blasAddon } from '../../../src/backend/kernels/blas-addon';
import { prepareSetup, type PublishedSetup } from '../../../src/distributed/eval-setup';
import type { EvaluatorConfig } from '../../../src/experiment/evaluator-config';
import { taskConfig } from '../../../src/tasks/task-config';
import { openExperiment } from '../../../src/experiment/open-experiment';
import { modelIdentity } from '../../../src/models/model-identity';
import { subnetCost } from '../../../src/nas/cost';
import { readNasConfig } from '../../../src/nas/nas-config';
import type { BenchRecord, Benchmark } from '../measure';
import { redisServerMissing, startLocalRedis, type LocalRedis } from '../../local-redis';
import { spawnUntilReady, stopChild } from '../child-processes';
import { errorMessage } from '../../../src/util/error-message';

type Setup = {
  workers: number;
  transport: 'in-process' | 'thread' | 'process' | 'queue';
  /** OpenBLAS threads of each worker (default 1; a queue worker sets cores / concurrency itself). */
  blasThreads?: number;
};

/** What `lonas worker --concurrency 1` gives its one evaluator thread: every core's OpenBLAS thread. */
const CORES = Math.max(1, os.cpus().length);

/**
 * Evaluators to compare: this process alone, then worker threads and worker processes, then
 * `lonas worker` processes (concurrency 1 each) taking jobs from a BullMQ queue on a Redis of
 * the benchmark's own (the queue setups run only where redis-server is installed).
 */
const SETUPS: Setup[] = [
  { workers: 1, transport: 'in-process' },
  { workers: 2, transport: 'thread' },
  { workers: 2, transport: 'process' },
  // The queue worker's own evaluator (one thread, all cores) in this process: the queue's overhead baseline.
  { workers: 1, transport: 'thread', blasThreads: CORES },
  { workers: 1, transport: 'queue' },
  { workers: 2, transport: 'queue' },
];

/** What the queue's overhead records measure. */
const QUEUE_OVERHEAD = {
  vs_in_process:
    '(wall s of the search with 1 queue worker - wall s of the same search with the 1 in-process evaluator, paired within each round, median over rounds) / candidates, in ms; ' +
    'besides the queue it includes any speed difference between an evaluator on the main thread of this process and one on a worker thread of another process (both on all cores)',
  vs_evaluator_thread:
    "(wall s of the search with 1 queue worker - wall s of the same search with 1 evaluator thread in this process, on all cores as the queue worker's is, paired within each round, median over rounds) / candidates, in ms: " +
    "the queue's own cost per job (enqueueing, Redis and BullMQ round trips, job locks and progress, the pool's polling, the hop to the worker process), the evaluator's work being the same",
};

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
 * 2 evaluator workers as threads and as processes, then with 1 and 2 queue workers (`lonas worker
 * --redis URL` child processes on a redis-server the benchmark starts on a free loopback port and
 * stops at the end). Each pool first scores one candidate per worker (its start-up: spawning,
 * loading, reported apart; for the queue, until every worker has scored one), then the search is
 * timed; medians over rounds in which the setups take turns. The in-process evaluator runs
 * OpenBLAS on its default threads (one per core), each thread or process worker on 1, each queue
 * worker's evaluator thread on all cores (`lonas worker`'s default: cores / concurrency, as on a
 * machine of its own; 2 queue workers here share the cores). Every queue round uses a fresh queue
 * name: its jobs' ids follow from the setup and the genes, and Redis keeps completed jobs, so a
 * queue used before would hand back earlier results without evaluating.
 */
export const searchBenchmark: Benchmark = {
  name: 'search',
  description:
    'a search on the demo model with 1 in-process evaluator, 2 evaluator workers, and 1 and 2 queue workers on Redis',
  async *run(): AsyncGenerator<BenchRecord> {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'lonas-bench-search-'));
    try {
      const nncf = JSON.parse(fs.readFileSync(packagePath('configs', 'demo-commonsense.json'), 'utf8'));
      nncf.bootstrapNAS.search = { ...nncf.bootstrapNAS.search, ...SEARCH };
      const nncfConfig = path.join(folder, 'config.json');
      fs.writeFileSync(nncfConfig, JSON.stringify(nncf));
      const demo = (...parts: string[]) => packagePath('tools', 'demo', ...parts);
      const config: EvaluatorConfig = {
        task: taskConfig({
          kind: 'commonsense',
          datasetPath: demo('data', 'train.json'),
          valSetSize: 200,
          datasetsDir: demo('data', 'datasets'),
          cutoffLen: 128,
          trainOnInputs: false,
          numBeams: 1,
          maxNewTokens: 6,
        }),
        model: demo('model'),
        nncfConfig,
        lora: {},
        seed: 0,
        evalBatchSize: 50,
      };
      const nasConfig = readNasConfig(nncfConfig);
      let backend = '';
      const opened = await openExperiment(
        config,
        taskOf(config.task),
        {
          emit: () => {},
          output: { writeJson: () => {}, mergeJson: () => {} },
          signal: new AbortController().signal,
        },
        { nasConfig, evaluates: true, log: (line) => (backend = line) },
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

      // The queue setups: a Redis of this benchmark's own, and the search's setup the workers fetch.
      let redis: LocalRedis | undefined;
      let queueSetup: PublishedSetup | undefined;
      const missing = redisServerMissing();
      let queueError: string | undefined = missing;
      if (queueError === undefined) {
        try {
          redis = await startLocalRedis();
          const identity = await modelIdentity(config.model, config.tokenizer);
          queueSetup = await prepareSetup(config, network, opened.adapterTaskType, objective.records, identity);
        } catch (error) {
          queueError = `the queue setups could not start: ${errorMessage(error)}`;
        }
      }
      try {
        /** `setup`'s evaluators, and how to close them (for the queue: its workers too). */
        const open = async (setup: Setup, round: number): Promise<{ pool: EvaluatorPool; close(): Promise<void> }> => {
          if (setup.transport === 'in-process') {
            const pool = inProcessPool((subnet) => objective.score(subnet));
            return { pool, close: () => pool.close() };
          }
          if (setup.transport !== 'queue') {
            const pool = workerPool({
              size: setup.workers,
              config,
              transport: setup.transport,
              logBackend: false,
              ...(setup.blasThreads === undefined ? {} : { blasThreads: setup.blasThreads }),
            });
            return { pool, close: () => pool.close() };
          }
          if (redis === undefined || queueSetup === undefined) throw new Error(queueError);
          // A queue of this round's own: no job of an earlier round (same setup, same genes) is found completed.
          const queue = `lonas-bench-${process.pid}-${round}-${setup.workers}-${Date.now().toString(36)}`;
          const started = await Promise.allSettled(
            Array.from({ length: setup.workers }, (_, i) =>
              spawnUntilReady(
                process.execPath,
                [
                  packagePath('bin', 'lonas.js'),
                  'worker',
                  '--redis',
                  redis.url,
                  '--queue',
                  queue,
                  '--name',
                  `q${i + 1}`,
                ],
                'taking jobs from queue',
                60_000,
              ),
            ),
          );
          const workers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
          const stopWorkers = async () => {
            await Promise.all(workers.map((w) => stopChild(w.child)));
          };
          try {
            const failed = started.find((s) => s.status === 'rejected');
            if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
            const pool = await queuePool({ url: redis.url, queue, setup: queueSetup });
            return {
              pool,
              close: async () => {
                await pool.close();
                await stopWorkers();
              },
            };
          } catch (error) {
            await stopWorkers();
            throw error;
          }
        };
        /** One timed search with `setup`'s evaluators, into a fresh folder. */
        const measure = async (setup: Setup, round: number, outputDir: string) => {
          const startup = performance.now();
          const { pool, close } = await open(setup, round);
          try {
            // One candidate per worker, outside the search, so that every worker has loaded its model.
            // Queue workers take jobs as they like: more go until every one of them has scored one.
            const warmed = new Set<string>();
            for (let batch = 0; batch === 0 || (setup.transport === 'queue' && warmed.size < setup.workers); batch++) {
              if (batch === 5)
                throw new Error(`only ${[...warmed].join(', ')} of ${setup.workers} queue workers took jobs`);
              const warmUp = Array.from({ length: setup.workers }, (_, i) => ({
                key: `warm-up-${batch}-${i}`,
                subnet: space.minimal(),
              }));
              for (const done of await lastValueFrom(pool.evaluate(from(warmUp)).pipe(toArray()))) {
                warmed.add(done.evaluator);
              }
            }
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
            await close();
          }
        };
        // The setups take turns within each round, so a machine getting busier or quieter between
        // rounds skews no ratio.
        type Run = { seconds: number; startupSeconds: number; candidates: number; sameResults: boolean };
        const runs = SETUPS.map(() => [] as Run[]);
        const skip = (setup: Setup) => setup.transport === 'queue' && queueError !== undefined;
        for (let round = 0; round < ROUNDS; round++) {
          const serialDir = path.join(folder, `round-${round}-serial`);
          for (const [i, setup] of SETUPS.entries()) {
            if (skip(setup)) continue;
            const outputDir =
              i === 0 ? serialDir : path.join(folder, `round-${round}-${setup.transport}-${setup.workers}`);
            let run: Omit<Run, 'sameResults'>;
            try {
              run = await measure(setup, round, outputDir);
            } catch (error) {
              // A queue that fails is reported in its own record; the other setups go on.
              if (setup.transport !== 'queue') throw error;
              queueError = `${setup.workers} queue worker(s), round ${round + 1}: ${errorMessage(error)}`;
              continue;
            }
            const sameResults = ['search_progression.csv', 'cache_top1_acc.csv', 'cache_MACs.csv'].every((file) =>
              sameRows(path.join(serialDir, file), path.join(outputDir, file)),
            );
            runs[i].push({ ...run, sameResults });
          }
        }
        const serialSeconds = median(runs[0].map((r) => r.seconds));
        for (const [i, setup] of SETUPS.entries()) {
          if (skip(setup)) continue;
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
            ...(i === 0 ? {} : { same_results: runs[i].every((r) => r.sameResults) }),
            ...(setup.transport === 'queue'
              ? { worker: 'lonas worker child process, concurrency 1', blas_threads_per_worker: CORES }
              : setup.blasThreads === undefined
                ? {}
                : { blas_threads_per_worker: setup.blasThreads, role: 'baseline of the queue overhead' }),
          };
        }
        if (queueError !== undefined) {
          yield {
            bench: 'search',
            transport: 'queue',
            ...(missing === undefined ? { error: queueError } : { skipped: queueError }),
          };
        } else {
          const at = (wanted: (setup: Setup) => boolean) => runs[SETUPS.findIndex(wanted)];
          const queueOne = at((s) => s.transport === 'queue' && s.workers === 1);
          const msPerCandidate = (baseline: Run[]) => {
            const extra = median(queueOne.map((r, round) => r.seconds - baseline[round].seconds));
            return Number(((extra / queueOne[0].candidates) * 1000).toFixed(1));
          };
          yield {
            bench: 'search',
            transport: 'queue',
            workers: 1,
            queue_overhead_ms_per_candidate_vs_in_process: msPerCandidate(runs[0]),
            queue_overhead_ms_per_candidate_vs_evaluator_thread: msPerCandidate(
              at((s) => s.transport === 'thread' && s.workers === 1),
            ),
            overhead_vs_in_process_definition: QUEUE_OVERHEAD.vs_in_process,
            overhead_vs_evaluator_thread_definition: QUEUE_OVERHEAD.vs_evaluator_thread,
            candidates: queueOne[0].candidates,
            same_candidates: queueOne.every((r) => r.candidates === runs[0][0].candidates),
            rounds: ROUNDS,
          };
        }
        yield {
          bench: 'search',
          same_results: SETUPS.every((setup, i) => skip(setup) || runs[i].every((r) => r.sameResults)),
        };
      } finally {
        await redis?.remove();
      }
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  },
};
