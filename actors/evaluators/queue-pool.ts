import { Job, Queue, QueueEvents } from 'bullmq';
import { subnetRecord, type LonasEvent, type SearchQueueEvent } from '../../src/events';
import {
  DEFAULT_EVAL_QUEUE,
  EVALUATE_JOB,
  decodeJobResult,
  evalJobId,
  type EvalJobData,
} from '../../src/distributed/eval-job';
import type { PublishedSetup } from '../../src/distributed/eval-setup';
import { isSetupStored, storeSetup } from '../../src/distributed/setup-store';
import { refusalsOf } from '../../src/distributed/refusals';
import { probeRedis, redisClient, withTimeout } from '../../src/distributed/redis-client';
import { QueueError, redisTarget } from '../../src/distributed/redis-url';
import { dispatchingPool, type Outcomes } from './dispatcher';
import type { Candidate, EvaluatorPool } from './evaluator-pool';
import { errorMessage } from '../../src/util/error-message';

export interface QueuePoolOptions {
  /** redis:// or rediss:// (see redisTarget). */
  url: string;
  /** Names the URL's origin in errors (a flag or config field). */
  field?: string;
  /** The BullMQ queue (default lonas-eval); `lonas worker --queue` takes from it. */
  queue?: string;
  /** The search's setup: stored in Redis before the first job, and again if Redis loses it. */
  setup: PublishedSetup;
  /** Receives eval.progress from the workers and search.queue whenever the queue's figures change. */
  emit?: (event: LonasEvent) => void;
  /** Aborted: the evaluation errors with the signal's reason (queued jobs stay for a resumed search). */
  signal?: AbortSignal;
  /** How long Redis may stay unreachable before the search stops with an error (default 60 s). */
  redisTimeoutMs?: number;
  /** How often the queue's state is read: depth, workers, results a lost event did not bring (default 1 s). */
  pollMs?: number;
  /** How long jobs may wait with no worker connected before the search says so (default 5 s). */
  noWorkersAfterMs?: number;
  /** Tries per candidate before its failure stops the search (default 3). */
  attempts?: number;
}

/** Finished jobs stay a week, so a restarted search takes the results its workers returned meanwhile. */
const KEEP_FINISHED = { age: 7 * 24 * 3600 };

/** A worker's name, from its Redis client's (BullMQ names it `<prefix>:<queue in base64>:w:<name>`). */
function workerName(client: { [key: string]: string }): string | undefined {
  const at = client.rawname.indexOf(':w:');
  return at < 0 ? undefined : client.rawname.slice(at + 3);
}

/** One evaluate() call: its jobs, and where their outcomes go. */
interface Evaluation {
  jobs: Map<string, { candidate: Candidate; enqueued: boolean }>;
  outcomes: Outcomes;
}

/**
 * Evaluators on other machines: each candidate becomes a BullMQ job on a Redis queue, taken by
 * any `lonas worker` (actors/evaluators/queue-worker.ts) holding the same base model, and its result comes
 * back as the job completes. A candidate's job id follows from the search setup and its genes, so
 * a job enqueued twice is one job, a result counts once, and a restarted search takes results
 * that completed while it was gone. A killed worker's job is retried by another (BullMQ's stalled
 * jobs); a job whose tries all failed stops the search with its reason. A worker whose base
 * model is not the search's gives the jobs back untried, and the search waits for one that holds
 * it. Redis is polled every `pollMs` for the queue's depth and workers (search.queue events, with
 * a warning while no worker is connected, a connected worker refuses the search's jobs, or Redis
 * is away) and for results whose events were lost; Redis away longer than `redisTimeoutMs` stops
 * the search, its caches kept for a resume.
 */
export async function queuePool(options: QueuePoolOptions): Promise<EvaluatorPool> {
  const target = redisTarget(options.url, options.field ?? 'eval_queue');
  const name = options.queue ?? DEFAULT_EVAL_QUEUE;
  const pollMs = options.pollMs ?? 1000;
  const redisTimeoutMs = options.redisTimeoutMs ?? 60_000;
  const noWorkersAfterMs = options.noWorkersAfterMs ?? 5000;
  const attempts = options.attempts ?? 3;
  const { setup } = options;
  await probeRedis(target);
  const connection = redisClient(target, 'lonas-search');
  // Clients of its own for BullMQ, so that closing with Redis gone can drop them.
  const queueClient = redisClient(target, 'lonas-search-queue');
  const eventsClient = redisClient(target, 'lonas-search-events');
  const dropConnections = () => [connection, queueClient, eventsClient].forEach((client) => client.disconnect());
  const queue = new Queue<EvalJobData>(name, { connection: queueClient });
  const queueEvents = new QueueEvents(name, { connection: eventsClient });
  // Outages are reported by the poll below; the clients reconnect on their own.
  queue.on('error', () => {});
  queueEvents.on('error', () => {});
  try {
    await withTimeout(Promise.all([queue.waitUntilReady(), queueEvents.waitUntilReady()]), 10_000, 'opening the queue');
    await withTimeout(storeSetup(connection, setup), redisTimeoutMs, 'storing the search setup');
  } catch (error) {
    dropConnections();
    await Promise.allSettled([queue.close(), queueEvents.close()]);
    throw new QueueError(target.scrub(`queue '${name}' at ${target.display}: ${errorMessage(error)}`));
  }

  const evaluations = new Set<Evaluation>();
  const owner = (jobId: string) => [...evaluations].find((e) => e.jobs.has(jobId));
  let workers = 0;
  let lastContact = Date.now();
  let waitingSince: number | undefined;
  let shown: Omit<SearchQueueEvent, 'type'> | undefined;
  const show = (figures: Omit<SearchQueueEvent, 'type' | 'queue' | 'redis'>) => {
    const next = { queue: name, redis: target.display, ...figures };
    if (JSON.stringify(next) === JSON.stringify(shown)) return;
    shown = next;
    options.emit?.({ type: 'search.queue', ...next });
  };

  queueEvents.on('completed', ({ jobId, returnvalue }) => {
    const evaluation = owner(jobId);
    if (evaluation !== undefined) settle(evaluation, jobId, returnvalue);
  });
  queueEvents.on('failed', ({ jobId }) => {
    if (owner(jobId) !== undefined) void inspect(jobId).catch(() => {});
  });
  queueEvents.on('progress', ({ jobId, data }) => {
    const entry = owner(jobId)?.jobs.get(jobId);
    const progress = data as { worker?: unknown; done?: unknown; total?: unknown };
    if (entry === undefined || typeof progress.done !== 'number' || typeof progress.total !== 'number') return;
    options.emit?.({
      type: 'eval.progress',
      role: 'candidate',
      subnet: subnetRecord(entry.candidate.subnet),
      done: progress.done,
      total: progress.total,
      ...(typeof progress.worker === 'string' ? { evaluator: progress.worker } : {}),
    });
  });

  /** Adds a candidate's job, or finds the one a search of the same setup added before. */
  const enqueue = async (jobId: string, candidate: Candidate) => {
    const job = await queue.add(
      EVALUATE_JOB,
      { setup: setup.hash, key: candidate.key, subnet: candidate.subnet },
      {
        jobId,
        attempts,
        backoff: { type: 'fixed', delay: 1000 },
        removeOnComplete: KEEP_FINISHED,
        removeOnFail: KEEP_FINISHED,
      },
    );
    // A job that failed in an earlier run is tried again in this one.
    if ((await queue.getJobState(jobId)) === 'failed') await job.retry('failed');
  };

  /** A job's result, decoded, to its evaluation (once: the job is then no longer watched). */
  const settle = (evaluation: Evaluation, jobId: string, value: unknown) => {
    const entry = evaluation.jobs.get(jobId);
    if (entry === undefined) return;
    let result;
    try {
      result = decodeJobResult(value, jobId);
    } catch (error) {
      return evaluation.outcomes.failed(error);
    }
    evaluation.jobs.delete(jobId);
    evaluation.outcomes.scored({
      ...entry.candidate,
      accuracy: result.accuracy,
      macs: result.macs,
      evaluator: result.worker,
    });
  };

  /** Settles a job from its state: its result, its final failure, or (lost with Redis) enqueued again. */
  const inspect = async (jobId: string) => {
    const evaluation = owner(jobId);
    const entry = evaluation?.jobs.get(jobId);
    if (evaluation === undefined || entry === undefined || !entry.enqueued) return;
    const state = await queue.getJobState(jobId);
    if (state === 'completed') {
      const job = await Job.fromId(queue, jobId);
      if (job !== undefined) settle(evaluation, jobId, job.returnvalue);
    } else if (state === 'failed') {
      const job = await Job.fromId(queue, jobId);
      evaluation.outcomes.failed(
        new QueueError(
          target.scrub(
            `candidate ${entry.candidate.key} failed on all ${attempts} tries: ${job?.failedReason ?? 'no reason recorded'}`,
          ),
        ),
      );
    } else if (state === 'unknown') {
      if (!(await isSetupStored(connection, setup))) await storeSetup(connection, setup);
      await enqueue(jobId, entry.candidate);
    }
  };

  let polling = false;
  const poll = async () => {
    if (polling || evaluations.size === 0) return;
    polling = true;
    try {
      const bound = Math.max(2000, pollMs * 5);
      const [counts, clients, refusals] = await withTimeout(
        Promise.all([
          queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active'),
          queue.getWorkers(),
          refusalsOf(connection, setup.hash),
        ]),
        bound,
        'reading the queue',
      );
      const ours = [...evaluations].flatMap((e) => [...e.jobs.keys()]);
      await withTimeout(Promise.all(ours.map(inspect)), bound, 'reading the jobs');
      lastContact = Date.now();
      const connected = clients.length;
      workers = connected;
      const waiting = counts.waiting + counts.prioritized + counts.delayed;
      waitingSince = connected === 0 && ours.length > 0 ? (waitingSince ?? Date.now()) : undefined;
      const lonely = waitingSince !== undefined && Date.now() - waitingSince >= noWorkersAfterMs;
      // Refusals of workers that have gone are not news.
      const present = new Set(clients.map(workerName));
      const refusing = Object.entries(refusals).filter(([worker]) => present.has(worker));
      const warning = lonely
        ? `no evaluator workers on queue '${name}' at ${target.display}: ${ours.length} candidates wait; start one with 'lonas worker --redis ${target.display} --queue ${name}'`
        : refusing.length > 0
          ? refusing.map(([worker, reason]) => `worker ${worker} refuses this search's jobs: ${reason}`).join('; ')
          : undefined;
      show({ waiting, active: counts.active, workers: connected, ...(warning === undefined ? {} : { warning }) });
    } catch (error) {
      const away = Date.now() - lastContact;
      if (away > redisTimeoutMs) {
        const lost = new QueueError(
          target.scrub(
            `lost Redis at ${target.display} for ${Math.round(away / 1000)} s (${errorMessage(error)}); the caches keep every result so far: run the search again to resume`,
          ),
        );
        for (const evaluation of evaluations) evaluation.outcomes.failed(lost);
        return;
      }
      show({
        waiting: shown?.waiting ?? 0,
        active: shown?.active ?? 0,
        workers: 0,
        warning: target.scrub(
          `Redis at ${target.display} is unreachable (${errorMessage(error)}); waiting up to ${Math.round(redisTimeoutMs / 1000)} s for it`,
        ),
      });
    } finally {
      polling = false;
    }
  };
  const timer = setInterval(() => void poll(), pollMs);

  return dispatchingPool(
    {
      name: 'queue pool',
      get size() {
        return Math.max(1, workers);
      },
      open: (outcomes) => {
        const evaluation: Evaluation = { jobs: new Map(), outcomes };
        evaluations.add(evaluation);
        void poll();
        return {
          submit: (candidate) => {
            const jobId = evalJobId(setup.hash, candidate.key);
            const entry = { candidate, enqueued: false };
            evaluation.jobs.set(jobId, entry);
            enqueue(jobId, candidate)
              .then(() => {
                entry.enqueued = true;
                // A job that had completed before (a resumed search) brings its result now.
                return inspect(jobId);
              })
              .catch((error) =>
                outcomes.failed(new QueueError(target.scrub(`enqueueing ${candidate.key}: ${errorMessage(error)}`))),
              );
          },
          // Its queued jobs stay: a resumed search takes their results.
          end: () => evaluations.delete(evaluation),
        };
      },
      close: async () => {
        clearInterval(timer);
        // Closing waits for Redis to answer; with Redis gone, the connections are dropped instead.
        await withTimeout(Promise.all([queue.close(), queueEvents.close()]), 2000, 'closing the queue').catch(() => {});
        dropConnections();
      },
    },
    options.signal,
  );
}
