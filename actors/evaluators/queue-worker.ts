import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { lastValueFrom, of } from 'rxjs';
import { subnetRecord } from '../../src/events';
import {
  DEFAULT_EVAL_QUEUE,
  decodeJobData,
  type EvalJobData,
  type EvalJobResult,
} from '../../src/distributed/eval-job';
import type { EvalSetup } from '../../src/distributed/eval-setup';
import { fetchSetup, materializeSetup } from '../../src/distributed/setup-store';
import { giveBackRefusedJob, withdrawRefusal } from '../../src/distributed/refusals';
import { bullConnection, probeRedis, redisClient } from '../../src/distributed/redis-client';
import { redisTarget } from '../../src/distributed/redis-url';
import type { EvaluatorConfig } from '../../src/experiment/evaluator-config';
import { identityDifference, modelIdentity, type ModelIdentity } from '../../src/models/model-identity';
import type { EvaluatorPool } from './evaluator-pool';
import { workerPool } from './worker-pool';
import { errorMessage } from '../../src/util/error-message';

export interface QueueWorkerOptions {
  /** redis:// or rediss:// (see redisTarget). */
  url: string;
  /** The queue to take candidate jobs from (default lonas-eval). */
  queue?: string;
  /** Candidates evaluated at once, each by its own evaluator thread with its own model (default 1). */
  concurrency?: number;
  /** This machine's copy of the base model (default: the path the search names). */
  model?: string;
  /** This machine's tokenizer, for checkpoints without one beside them (default: the search's path). */
  tokenizer?: string;
  /** The worker's name in results, events and Redis's client list (default <hostname>-<pid>). */
  name?: string;
  /** Tensor backend of the evaluators (default: automatic). */
  backend?: string;
  /** How long a job's lock lasts unrenewed: a killed worker's job is retried by another after it (default 30 s). */
  lockDurationMs?: number;
  /** How often this worker looks for stalled jobs (default 30 s). */
  stalledIntervalMs?: number;
  /** One line per job, connection change or failure (default: nowhere). */
  log?: (line: string) => void;
}

export interface QueueWorker {
  name: string;
  /** Stops taking jobs, lets the running ones finish (`force`: abandons them to be retried), frees the evaluators. */
  close(force?: boolean): Promise<void>;
}

/**
 * How long a worker takes no job after refusing one: another worker gets the job it gave back,
 * and a worker that refuses every job does not spin.
 */
const REFUSAL_BACKOFF_MS = 5000;

/** An evaluator pool opened for one search setup, and how many jobs are using it. */
interface OpenSetup {
  pool: Promise<EvaluatorPool>;
  users: number;
  folder: string;
}

/**
 * A worker of a distributed search (`lonas worker`): takes candidate jobs from a BullMQ queue,
 * checks the search's base model against its own copy (config and content hash), fetches the
 * search's setup, super-adapter and validation records from Redis by content hash, scores the
 * candidate on evaluator threads (actors/evaluators/evaluator-worker.ts, so this process keeps renewing
 * its job locks during long evaluations) and returns the accuracy and the MACs its model counts,
 * with the evaluators' progress as job progress. The model loads once per search setup; a
 * malformed job fails alone, with the reason, and the worker goes on. A worker whose base model
 * is not the search's (or cannot be read) refuses the setup's jobs for as long as it runs: it
 * gives each back untried for another worker, says why in Redis for the search
 * (src/distributed/refusals.ts) and takes no job for a few seconds.
 */
export async function startQueueWorker(options: QueueWorkerOptions): Promise<QueueWorker> {
  const target = redisTarget(options.url, '--redis');
  const name = options.name ?? `${os.hostname()}-${process.pid}`;
  const queueName = options.queue ?? DEFAULT_EVAL_QUEUE;
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new Error(`concurrency must be a positive integer, got ${concurrency}`);
  }
  const log = (line: string) => options.log?.(target.scrub(line));
  await probeRedis(target);
  const redis = redisClient(target, `lonas-worker:${name}`);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lonas-worker-'));
  const setups = new Map<string, Promise<EvalSetup>>();
  const identities = new Map<string, Promise<ModelIdentity>>();
  const refusals = new Map<string, Promise<string | undefined>>();
  const open = new Map<string, OpenSetup>();
  /** Jobs running, by the subnet their evaluator reports progress for. */
  const running = new Map<string, Job>();

  const setupOf = (hash: string) => {
    if (!setups.has(hash)) {
      const fetched = fetchSetup(redis, hash);
      // A setup Redis could not give is asked for again by the next job.
      fetched.catch(() => setups.delete(hash));
      setups.set(hash, fetched);
    }
    return setups.get(hash) as Promise<EvalSetup>;
  };
  /** The base model (and tokenizer) this worker scores `setup` with. */
  const modelFor = (setup: EvalSetup) => ({
    model: options.model ?? setup.model.path,
    tokenizer: options.tokenizer ?? setup.model.tokenizer,
  });
  const identityOf = (model: string, tokenizer: string | undefined) => {
    const key = `${model}\u0000${tokenizer ?? ''}`;
    if (!identities.has(key)) {
      log(`hashing the base model at ${model}`);
      const computed = modelIdentity(model, tokenizer);
      computed.catch(() => identities.delete(key));
      identities.set(key, computed);
    }
    return identities.get(key) as Promise<ModelIdentity>;
  };
  /** Per setup, once: undefined where this worker holds the search's base model, else why it refuses the setup's jobs. */
  const refusalOf = (hash: string) => {
    if (!refusals.has(hash)) {
      const judged = (async () => {
        const setup = await setupOf(hash);
        const { model, tokenizer } = modelFor(setup);
        let reason: string | undefined;
        try {
          const difference = identityDifference(await identityOf(model, tokenizer), setup.model.identity);
          if (difference !== undefined) reason = `the base model at ${model} is not the search's: ${difference}`;
        } catch (error) {
          reason = `cannot read the base model at ${model}: ${errorMessage(error)}`;
        }
        // A worker restarted with the right model under the same name takes back its refusal.
        if (reason === undefined) await withdrawRefusal(redis, hash, name);
        else log(`refusing the jobs of search setup ${hash.slice(0, 12)}: ${reason}`);
        return reason;
      })();
      // A setup Redis could not give is judged again at the next job.
      judged.catch(() => refusals.delete(hash));
      refusals.set(hash, judged);
    }
    return refusals.get(hash) as Promise<string | undefined>;
  };
  /** Pending while this worker backs off after a refusal. */
  let resumeTimer: NodeJS.Timeout | undefined;
  const backOff = async () => {
    if (resumeTimer !== undefined) return;
    resumeTimer = setTimeout(() => {
      resumeTimer = undefined;
      void worker.resume();
    }, REFUSAL_BACKOFF_MS);
    // This worker only: the others go on taking jobs.
    await worker.pause(true);
  };
  const closeSetup = (hash: string) => {
    const entry = open.get(hash);
    if (entry === undefined) return;
    open.delete(hash);
    void entry.pool.then((pool) => pool.close()).catch(() => {});
    fs.rmSync(entry.folder, { recursive: true, force: true });
  };
  /** The evaluators of `hash`, opened once (other setups' idle evaluators are closed: one model in memory). */
  const acquire = (hash: string, setup: EvalSetup, model: string, tokenizer: string | undefined) => {
    let entry = open.get(hash);
    if (entry === undefined) {
      for (const [other, { users }] of open) if (users === 0) closeSetup(other);
      const folder = fs.mkdtempSync(path.join(scratch, 'setup-'));
      const pool = (async () => {
        const files = await materializeSetup(redis, setup, folder);
        const config: EvaluatorConfig = {
          task: setup.task,
          model,
          ...(tokenizer === undefined ? {} : { tokenizer }),
          nncfConfig: files.nncfConfig,
          loraWeights: files.adapterFolder,
          lora: setup.lora,
          seed: setup.seed,
          evalBatchSize: setup.evalBatchSize,
          ...(options.backend === undefined ? {} : { backend: options.backend }),
        };
        log(`opening search setup ${hash.slice(0, 12)}: ${setup.task.kind}, model ${model}`);
        return workerPool({
          size: concurrency,
          config,
          validation: files.records,
          blasThreads: Math.max(1, Math.floor(os.cpus().length / concurrency)),
          emit: (event) => {
            if (event.type !== 'eval.progress') return;
            const job = running.get(JSON.stringify(event.subnet));
            void job?.updateProgress({ worker: name, done: event.done, total: event.total }).catch(() => {});
          },
        });
      })();
      entry = { pool, users: 0, folder };
      open.set(hash, entry);
      pool.catch(() => closeSetup(hash));
    }
    entry.users += 1;
    return entry;
  };

  const evaluateJob = async (job: Job, token: string | undefined): Promise<EvalJobResult> => {
    let data: EvalJobData;
    try {
      data = decodeJobData(job.data, job.id);
    } catch (error) {
      // A malformed job is not tried again: no worker could do better with it.
      throw new UnrecoverableError(`worker ${name}: malformed job: ${errorMessage(error)}`);
    }
    const refusal = await refusalOf(data.setup);
    if (refusal !== undefined) {
      // Not a failed try of the candidate: the job waits for a worker that holds the search's model.
      await giveBackRefusedJob(redis, job, token, { setup: data.setup, worker: name, reason: refusal });
      await backOff();
      throw new WaitingError();
    }
    const setup = await setupOf(data.setup);
    const { model, tokenizer } = modelFor(setup);
    const entry = acquire(data.setup, setup, model, tokenizer);
    const progressKey = JSON.stringify(subnetRecord(data.subnet));
    running.set(progressKey, job);
    const started = Date.now();
    try {
      const scored = await lastValueFrom((await entry.pool).evaluate(of({ key: data.key, subnet: data.subnet })));
      log(`${data.key}: accuracy ${scored.accuracy.toFixed(4)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return { accuracy: scored.accuracy, macs: scored.macs as number, worker: name };
    } catch (error) {
      // Evaluators that failed are opened afresh for the next job.
      closeSetup(data.setup);
      throw error;
    } finally {
      running.delete(progressKey);
      entry.users -= 1;
    }
  };

  /** A job's failure names this worker: the search shows the reason of the last try. */
  const evaluate = async (job: Job, token?: string): Promise<EvalJobResult> => {
    try {
      return await evaluateJob(job, token);
    } catch (error) {
      if (error instanceof UnrecoverableError || error instanceof WaitingError) throw error;
      throw new Error(`worker ${name}: ${errorMessage(error)}`);
    }
  };

  const worker = new Worker<EvalJobData, EvalJobResult>(queueName, evaluate, {
    name,
    connection: bullConnection(target),
    concurrency,
    lockDuration: options.lockDurationMs ?? 30_000,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    // A job whose worker died twice is retried once more before it counts as failed.
    maxStalledCount: 2,
  });
  let lastError: string | undefined;
  worker.on('error', (error) => {
    // One line per kind of trouble (a Redis outage repeats its error on every reconnect).
    if (error.message === lastError) return;
    lastError = error.message;
    log(`Redis: ${error.message}; reconnecting`);
  });
  worker.on('ready', () => {
    if (lastError !== undefined) log('connected again');
    lastError = undefined;
  });
  worker.on('failed', (job, error) => log(`job ${job?.id ?? '?'} failed: ${error.message}`));
  await worker.waitUntilReady();
  log(`taking jobs from queue '${queueName}' at ${target.display} (concurrency ${concurrency})`);

  return {
    name,
    close: async (force = false) => {
      clearTimeout(resumeTimer);
      await worker.close(force);
      for (const hash of [...open.keys()]) closeSetup(hash);
      redis.disconnect();
      fs.rmSync(scratch, { recursive: true, force: true });
    },
  };
}
