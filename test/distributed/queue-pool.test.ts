import { Job, Queue, Worker } from 'bullmq';
import { firstValueFrom, from, lastValueFrom, filter, Subject, toArray } from 'rxjs';
import { queuePool } from '../../actors/evaluators/queue-pool';
import type { Candidate } from '../../actors/evaluators/evaluator-pool';
import type { LonasEvent } from '../../src/events';
import { sha256 } from '../../src/distributed/blob-store';
import { evalJobId } from '../../src/distributed/eval-job';
import type { EvalSetup, PublishedSetup } from '../../src/distributed/eval-setup';
import { bullConnection, redisClient } from '../../src/distributed/redis-client';
import { redisTarget, QueueError } from '../../src/distributed/redis-url';
import { describeWithRedis } from '../support/redis-server';
import { freePort, startLocalRedis, type LocalRedis } from '../../tools/local-redis';
import { watchedPool } from './watched-pool';
import { fakeWorker, refusingWorker } from './fake-workers';

/** A setup that is only a name and one blob: these tests run BullMQ workers of their own, which read neither. */
function setupNamed(name: string): PublishedSetup {
  const setup = { name } as unknown as EvalSetup;
  const bytes = new TextEncoder().encode(`blob of ${name}`);
  return { hash: sha256(JSON.stringify(setup)), setup, blobs: [{ hash: sha256(bytes), bytes }] };
}

const candidates = (n: number): Candidate[] =>
  Array.from({ length: n }, (_, i) => ({ key: `(${i}, ${i % 3})`, subnet: { 0: i, 1: i % 3 } }));

describeWithRedis('the queue pool (BullMQ on a redis-server of the test)', () => {
  let redis: LocalRedis;
  let queueNumber = 0;
  const nextQueue = () => `test-${process.pid}-${(queueNumber += 1)}`;
  beforeAll(async () => {
    redis = await startLocalRedis({ persist: true });
  });
  afterAll(() => redis.remove());

  it('sends candidates as jobs, merges their results with the worker named, and counts a result once', async () => {
    const queue = nextQueue();
    const setup = setupNamed('merge');
    const events: LonasEvent[] = [];
    const seen: string[] = [];
    const worker = fakeWorker(redis, queue, 'fake-1', 20, seen);
    const pool = await queuePool({ url: redis.url, queue, setup, emit: (e) => events.push(e), pollMs: 100 });
    const redisKeys = redisClient(redisTarget(redis.url, 'test'), 'test');
    try {
      // The setup and its blob are in Redis before the first job.
      expect(await redisKeys.get(`lonas:setup:${setup.hash}`)).toBe(JSON.stringify(setup.setup));
      expect(await redisKeys.exists(`lonas:blob:${setup.blobs[0].hash}`)).toBe(1);
      const results = await lastValueFrom(pool.evaluate(from(candidates(5))).pipe(toArray()));
      expect(results.map((r) => [r.key, r.accuracy, r.evaluator, r.macs]).sort()).toEqual(
        candidates(5).map((c) => [c.key, c.subnet[0] / 10, 'fake-1', 1]),
      );
      expect(events.some((e) => e.type === 'eval.progress' && e.evaluator === 'fake-1' && e.done === 1)).toBe(true);
      // The same candidates again (a restarted search): their jobs completed, so nothing is evaluated twice.
      const again = await lastValueFrom(
        pool.evaluate(from([...candidates(5), ...candidates(6).slice(5)])).pipe(toArray()),
      );
      expect(again.map((r) => r.key).sort()).toEqual(
        candidates(6)
          .map((c) => c.key)
          .sort(),
      );
      expect(seen.sort()).toEqual(
        candidates(6)
          .map((c) => c.key)
          .sort(),
      );
    } finally {
      redisKeys.disconnect();
      await pool.close();
      await worker.close();
    }
  });

  it('says so while no worker is connected, and goes on when one starts', async () => {
    const queue = nextQueue();
    const { pool, evaluateUntilWarned } = await watchedPool({
      url: redis.url,
      queue,
      setup: setupNamed('lonely'),
      noWorkersAfterMs: 300,
    });
    let worker: Worker | undefined;
    try {
      const { warning, results } = await evaluateUntilWarned(candidates(2));
      expect(warning).toMatchObject({ queue, waiting: 2, workers: 0 });
      expect(warning.warning).toBe(
        `no evaluator workers on queue '${queue}' at ${redis.url}: 2 candidates wait; start one with 'lonas worker --redis ${redis.url} --queue ${queue}'`,
      );
      worker = fakeWorker(redis, queue, 'late');
      expect((await results).map((r) => r.evaluator)).toEqual(['late', 'late']);
    } finally {
      await pool.close();
      await worker?.close();
    }
  });

  it('a worker that refuses the jobs gives them back untried: the search waits, saying who refuses and why, until another worker takes them', async () => {
    const queue = nextQueue();
    const setup = setupNamed('refused');
    const refused: string[] = [];
    const bad = refusingWorker(redis, queue, 'bad', refused);
    // A refusal left by a worker that has gone is not news.
    const redisKeys = redisClient(redisTarget(redis.url, 'test'), 'test');
    await redisKeys.hset(`lonas:refusals:${setup.hash}`, 'gone', 'it left');
    // One try per candidate: a refusal that spent it would fail the candidate.
    const { pool, events, evaluateUntilWarned } = await watchedPool({ url: redis.url, queue, setup, attempts: 1 });
    const warnings: string[] = [];
    events.subscribe((e) => {
      if (e.type === 'search.queue' && e.warning !== undefined) warnings.push(e.warning);
    });
    let good: Worker | undefined;
    try {
      const { warning, results } = await evaluateUntilWarned(candidates(2));
      expect(warning.warning).toBe("worker bad refuses this search's jobs: its model differs");
      // Refused again and again, the candidates still wait, and a worker that starts later evaluates them.
      while (refused.length < 3) await new Promise((resolve) => setTimeout(resolve, 50));
      good = fakeWorker(redis, queue, 'good');
      expect((await results).map((r) => r.evaluator)).toEqual(['good', 'good']);
      expect(new Set(warnings)).toEqual(new Set(["worker bad refuses this search's jobs: its model differs"]));
    } finally {
      redisKeys.disconnect();
      await pool.close();
      await bad.close();
      await good?.close();
    }
  });

  it('a candidate that fails every try stops the evaluation with the reason', async () => {
    const queue = nextQueue();
    const worker = new Worker(
      queue,
      async () => {
        throw new Error('worker w9: the evaluation ran out of memory');
      },
      { connection: bullConnection(redisTarget(redis.url, 'test')) },
    );
    worker.on('error', () => {});
    const pool = await queuePool({ url: redis.url, queue, setup: setupNamed('failing'), attempts: 2, pollMs: 100 });
    try {
      await expect(lastValueFrom(pool.evaluate(from(candidates(1))))).rejects.toThrow(
        'candidate (0, 0) failed on all 2 tries: worker w9: the evaluation ran out of memory',
      );
    } finally {
      await pool.close();
      await worker.close();
    }
  });

  it('Redis restarted during an evaluation: the pool reconnects and completes', async () => {
    const queue = nextQueue();
    const events = new Subject<LonasEvent>();
    const queueEvents = (pattern: RegExp) =>
      firstValueFrom(events.pipe(filter((e) => e.type === 'search.queue' && pattern.test(e.warning ?? ''))));
    const pool = await queuePool({
      url: redis.url,
      queue,
      setup: setupNamed('restart'),
      emit: (e) => events.next(e),
      pollMs: 100,
      noWorkersAfterMs: 100,
    });
    let worker: Worker | undefined;
    try {
      const results = lastValueFrom(pool.evaluate(from(candidates(3))).pipe(toArray()));
      // The jobs are in Redis (appendonly): once the pool has seen them wait, stop Redis, let the
      // pool notice, start Redis again, then a worker.
      await queueEvents(/^no evaluator workers/);
      const unreachable = queueEvents(/is unreachable/);
      await redis.stop();
      expect((await unreachable).type).toBe('search.queue');
      await redis.start();
      worker = fakeWorker(redis, queue, 'after-restart');
      expect((await results).map((r) => r.key).sort()).toEqual(
        candidates(3)
          .map((c) => c.key)
          .sort(),
      );
    } finally {
      await pool.close();
      await worker?.close();
    }
  });

  it('Redis lost for longer than the bounded wait: a clear error', async () => {
    const own = await startLocalRedis({ persist: true });
    const queue = nextQueue();
    const pool = await queuePool({ url: own.url, queue, setup: setupNamed('lost'), pollMs: 100, redisTimeoutMs: 1000 });
    try {
      const results = lastValueFrom(pool.evaluate(from(candidates(2))));
      await new Promise((resolve) => setTimeout(resolve, 200));
      await own.stop();
      await expect(results).rejects.toThrow(
        new RegExp(
          `^lost Redis at redis://127\\.0\\.0\\.1:${own.port} for \\d+ s \\(.*\\); the caches keep every result so far: run the search again to resume$`,
        ),
      );
    } finally {
      await pool.close();
      await own.remove();
    }
  });

  it('a Redis that is not there, or refuses the password, is an error at once without the password', async () => {
    const port = await freePort();
    await expect(queuePool({ url: `redis://127.0.0.1:${port}`, setup: setupNamed('none') })).rejects.toThrow(
      new RegExp(`^cannot reach Redis at redis://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
    );
    const guarded = await startLocalRedis({ persist: true, password: 'right-horse-battery' });
    try {
      const wrong = guarded.url.replace('right-horse-battery', 'wrong-staple');
      const error = await queuePool({ url: wrong, setup: setupNamed('auth') }).catch((e: Error) => e);
      expect(error).toBeInstanceOf(QueueError);
      expect((error as Error).message).toMatch(/^cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: WRONGPASS/);
      expect((error as Error).message).not.toContain('wrong-staple');
      // The right password works.
      const queue = nextQueue();
      const worker = fakeWorker(guarded, queue, 'guarded');
      const pool = await queuePool({ url: guarded.url, queue, setup: setupNamed('auth'), pollMs: 100 });
      try {
        expect((await lastValueFrom(pool.evaluate(from(candidates(1))))).evaluator).toBe('guarded');
      } finally {
        await pool.close();
        await worker.close();
      }
    } finally {
      await guarded.remove();
    }
  });

  it('a job that vanished with Redis is enqueued again, with its setup', async () => {
    const queue = nextQueue();
    const setup = setupNamed('vanished');
    const pool = await queuePool({ url: redis.url, queue, setup, pollMs: 100 });
    const admin = new Queue(queue, { connection: bullConnection(redisTarget(redis.url, 'test')) });
    const redisKeys = redisClient(redisTarget(redis.url, 'test'), 'test');
    let worker: Worker | undefined;
    try {
      const results = lastValueFrom(pool.evaluate(from(candidates(1))));
      const id = evalJobId(setup.hash, candidates(1)[0].key);
      const waiting = async () => {
        while ((await admin.getJobState(id)) !== 'waiting') await new Promise((resolve) => setTimeout(resolve, 50));
      };
      await waiting();
      // As after a Redis that restarted empty: the job, the setup and its blob are gone.
      await (await Job.fromId(admin, id))?.remove();
      await redisKeys.del(`lonas:setup:${setup.hash}`, `lonas:blob:${setup.blobs[0].hash}`);
      await waiting();
      expect(await redisKeys.exists(`lonas:setup:${setup.hash}`, `lonas:blob:${setup.blobs[0].hash}`)).toBe(2);
      worker = fakeWorker(redis, queue, 'fresh');
      expect((await results).key).toBe(candidates(1)[0].key);
    } finally {
      redisKeys.disconnect();
      await admin.close();
      await pool.close();
      await worker?.close();
    }
  });
});
