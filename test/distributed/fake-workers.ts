/** BullMQ workers of the tests' own, standing in for `lonas worker` where the model does not matter. */
import { WaitingError, Worker } from 'bullmq';
import type { EvalJobData, EvalJobResult } from '../../src/distributed/eval-job';
import { bullConnection, redisClient } from '../../src/distributed/redis-client';
import { redisTarget } from '../../src/distributed/redis-url';
import { giveBackRefusedJob } from '../../src/distributed/refusals';
import type { LocalRedis } from '../../tools/local-redis';

/** A worker that scores subnet {0: i} as i / 10, after `delayMs`. */
export function fakeWorker(redis: LocalRedis, queue: string, name: string, delayMs = 0, seen: string[] = []) {
  const worker = new Worker<EvalJobData, EvalJobResult>(
    queue,
    async (job) => {
      seen.push(job.data.key);
      await job.updateProgress({ worker: name, done: 1, total: 2 });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return { accuracy: job.data.subnet[0] / 10, macs: 1, worker: name };
    },
    { name, connection: bullConnection(redisTarget(redis.url, 'test')) },
  );
  worker.on('error', () => {});
  return worker;
}

/** A worker whose model is not the search's: it gives every job back (`refused` lists them), then takes none for 100 ms. */
export function refusingWorker(redis: LocalRedis, queue: string, name: string, refused: string[]) {
  const target = redisTarget(redis.url, 'test');
  const client = redisClient(target, name);
  const worker: Worker<EvalJobData, EvalJobResult> = new Worker(
    queue,
    async (job, token) => {
      refused.push(job.data.key);
      await giveBackRefusedJob(client, job, token, {
        setup: job.data.setup,
        worker: name,
        reason: 'its model differs',
      });
      await worker.pause(true);
      setTimeout(() => void worker.resume(), 100);
      throw new WaitingError();
    },
    { name, connection: bullConnection(target) },
  );
  worker.on('error', () => {});
  return {
    close: async () => {
      await worker.close();
      client.disconnect();
    },
  };
}
