import { fork } from 'child_process';
import * as fs from 'fs';
import { Worker } from 'worker_threads';
import { packagePath } from '../../src/backend/build-artifacts';
import { blasAddon } from '../../src/backend/kernels/blas-addon';
import type { LonasEvent } from '../../src/events';
import type { EvaluatorConfig } from '../../src/experiment/evaluator-config';
import { dispatchingPool } from './dispatcher';
import type { Candidate, EvaluatorPool } from './evaluator-pool';
import type { WorkerReply, WorkerRequest } from './evaluator-worker';

export interface WorkerPoolOptions {
  /** How many workers (each loads its own backend and model). */
  size: number;
  /**
   * The experiment each worker opens as the load phase does; `loraWeights` is the super-adapter
   * they evaluate (none: the fresh super-network, which follows from the seed).
   */
  config: EvaluatorConfig;
  /**
   * `thread` (default): worker threads in this process, each with its own tfjs and wasm memory.
   * `process`: forked Node processes, each with its own OpenBLAS (OPENBLAS_NUM_THREADS set).
   */
  transport?: 'thread' | 'process';
  /** Receives the workers' events (eval.progress, with `evaluator` naming the worker). */
  emit?: (event: LonasEvent) => void;
  /** Aborted: a running evaluation errors with the signal's reason and its workers stop at once. */
  signal?: AbortSignal;
  /** Each worker prints its backend line to stderr (default true). */
  logBackend?: boolean;
  /**
   * OpenBLAS threads per worker (default 1). Worker threads share the process's OpenBLAS, so there
   * this is the process's setting while the pool is open (restored by `close`).
   */
  blasThreads?: number;
  /** Validation records the workers score on instead of the task's own (see BoundTask.objective). */
  validation?: unknown[];
}

/** The compiled worker entry (under ts-jest the sources are TypeScript; a worker runs dist/). */
export function evaluatorWorkerFile(): string {
  const file = packagePath('dist', 'actors', 'evaluators', 'evaluator-worker.js');
  if (!fs.existsSync(file)) {
    throw new Error(`${file} is missing: evaluator workers run the compiled lonas; run 'npm run build' first`);
  }
  return file;
}

/** One running worker, thread or process alike. */
interface Endpoint {
  send(request: WorkerRequest): void;
  /** Ends the worker; settles once it has gone. */
  terminate(): Promise<void>;
}

interface Handlers {
  reply(reply: WorkerReply): void;
  /** The worker ended on its own: how (`exited with code 1: ...`). */
  exit(how: string): void;
}

function startThread(file: string, on: Handlers): Endpoint {
  // stdout: true keeps a worker's stray prints off this process's stdout (--events writes JSON there).
  const worker = new Worker(file, { stdout: true });
  worker.stdout.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  let uncaught: Error | undefined;
  let exited = false;
  worker.on('message', on.reply);
  worker.on('error', (error) => (uncaught = error));
  worker.on('exit', (code) => {
    exited = true;
    on.exit(`exited with code ${code}${uncaught === undefined ? '' : `: ${uncaught.message}`}`);
  });
  return {
    send: (request) => worker.postMessage(request),
    terminate: async () => {
      if (!exited) await worker.terminate();
    },
  };
}

function startProcess(file: string, blasThreads: number, on: Handlers): Endpoint {
  const child = fork(file, [], {
    env: { ...process.env, OPENBLAS_NUM_THREADS: String(blasThreads) },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  child.stdout?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  const gone = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  child.on('message', (reply) => on.reply(reply as WorkerReply));
  child.on('error', (error) => on.exit(`failed: ${error.message}`));
  child.on('exit', (code, signal) => on.exit(signal === null ? `exited with code ${code}` : `was killed by ${signal}`));
  return {
    // A send to a worker that has just gone fails; its exit reports that.
    send: (request) => child.send(request, () => {}),
    terminate: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill();
      await gone;
    },
  };
}

type Outcome = { accuracy: number; macs: number } | { error: Error };

interface Job {
  candidate: Candidate;
  settle(outcome: Outcome): void;
}

interface Slot {
  id: string;
  endpoint: Endpoint;
  opened: boolean;
  job?: Job;
  /** Why the worker can take no work: it could not open the experiment, or it exited. */
  failure?: Error;
  /** Ended by the pool (an abandoned evaluation, or close): started again by the next evaluation. */
  ended: boolean;
}

/**
 * `size` evaluators, each a worker with its own tensor backend and model opened from `config`
 * (actors/evaluators/evaluator-worker.ts). The workers start loading at once, in parallel; candidates go to
 * whichever worker is free as soon as it is, and results come back as they finish (evaluator
 * `worker-<i>`). A candidate that throws, or a worker that exits, errors the evaluation with the
 * worker and the candidate named. Unsubscribing ends the workers still scoring for it (they start
 * again, loading, on the next evaluation); `close` ends them all.
 */
export function workerPool(options: WorkerPoolOptions): EvaluatorPool {
  const { size, config } = options;
  if (!Number.isInteger(size) || size < 1) throw new Error(`workerPool: size must be a positive integer, got ${size}`);
  const file = evaluatorWorkerFile();
  const transport = options.transport ?? 'thread';
  const blasThreads = options.blasThreads ?? 1;
  // Worker threads share this process's OpenBLAS: its thread count is put back on close.
  const addon = transport === 'thread' ? blasAddon().addon : undefined;
  const blasThreadsBefore = addon?.threads();
  /** Each evaluation's pump: called whenever a worker opens, finishes a candidate or fails. */
  const watchers = new Set<() => void>();
  const changed = () => [...watchers].forEach((pump) => pump());

  const spawn = (index: number): Slot => {
    const slot = { id: `worker-${index + 1}`, opened: false, ended: false } as Slot;
    const fail = (error: Error) => {
      if (slot.failure !== undefined) return;
      slot.failure = error;
      const job = slot.job;
      slot.job = undefined;
      job?.settle({ error });
      changed();
    };
    const finish = (key: string, outcome: Outcome) => {
      const job = slot.job;
      if (job?.candidate.key !== key) return;
      slot.job = undefined;
      job.settle(outcome);
      changed();
    };
    const handlers: Handlers = {
      reply: (reply) => {
        switch (reply.type) {
          case 'opened':
            slot.opened = true;
            changed();
            break;
          case 'event':
            options.emit?.(reply.event.type === 'eval.progress' ? { ...reply.event, evaluator: slot.id } : reply.event);
            break;
          case 'result':
            finish(reply.key, { accuracy: reply.accuracy, macs: reply.macs });
            break;
          case 'failed':
            if (reply.key === undefined) {
              fail(new Error(`evaluator ${slot.id} could not open the experiment: ${reply.message}`));
            } else {
              finish(reply.key, {
                error: new Error(`evaluator ${slot.id} failed on candidate ${reply.key}: ${reply.message}`),
              });
            }
            break;
        }
      },
      exit: (how) => {
        if (slot.ended) return;
        const doing =
          slot.job !== undefined
            ? ` while scoring candidate ${slot.job.candidate.key}`
            : slot.opened
              ? ''
              : ' while opening the experiment';
        fail(new Error(`evaluator ${slot.id} ${how}${doing}`));
      },
    };
    slot.endpoint = transport === 'thread' ? startThread(file, handlers) : startProcess(file, blasThreads, handlers);
    slot.endpoint.send({
      type: 'open',
      id: slot.id,
      config,
      logBackend: options.logBackend ?? true,
      blasThreads,
      validation: options.validation,
    });
    return slot;
  };
  const end = (slot: Slot) => {
    slot.ended = true;
    slot.job = undefined;
    return slot.endpoint.terminate();
  };
  // Every worker starts loading now, side by side.
  const slots = Array.from({ length: size }, (_, i) => spawn(i));

  return dispatchingPool(
    {
      name: 'worker pool',
      size,
      open: (outcomes) => {
        slots.forEach((slot, i) => {
          if (slot.ended) slots[i] = spawn(i);
        });
        const queue: Candidate[] = [];
        /** Workers scoring this evaluation's candidates. */
        const mine = new Set<Slot>();
        const pump = () => {
          const broken = slots.find((slot) => slot.failure !== undefined);
          if (broken !== undefined) return outcomes.failed(broken.failure);
          for (const slot of slots) {
            if (queue.length === 0) break;
            if (!slot.opened || slot.job !== undefined || slot.ended) continue;
            const candidate = queue.shift() as Candidate;
            mine.add(slot);
            slot.job = {
              candidate,
              settle: (outcome) => {
                mine.delete(slot);
                if ('error' in outcome) outcomes.failed(outcome.error);
                else outcomes.scored({ ...candidate, ...outcome, evaluator: slot.id });
              },
            };
            slot.endpoint.send({ type: 'score', key: candidate.key, subnet: candidate.subnet });
          }
        };
        watchers.add(pump);
        return {
          submit: (candidate) => {
            queue.push(candidate);
            pump();
          },
          end: () => {
            watchers.delete(pump);
            // Work still running for this evaluation is not left behind: its workers end now.
            for (const slot of mine) void end(slot);
            mine.clear();
          },
        };
      },
      close: async () => {
        await Promise.all(slots.map(end));
        if (blasThreadsBefore !== undefined) addon?.setThreads(blasThreadsBefore);
      },
    },
    options.signal,
  );
}
