/**
 * Workers' refusals of a search setup, in Redis: a worker whose base model is not the search's
 * gives the setup's jobs back untried and says why here, so that the search can say which worker
 * refuses and why while other workers take the jobs.
 */
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { BLOB_TTL_SECONDS } from './blob-store';

/** A hash of worker name -> reason, kept as long as the setup it is about. */
const refusalsKey = (setup: string) => `lonas:refusals:${setup}`;

/** Records that `worker` refuses `setup`'s jobs, then puts `job` back at the head of the queue without spending a try. */
export async function giveBackRefusedJob(
  redis: Redis,
  job: Job,
  token: string | undefined,
  refusal: { setup: string; worker: string; reason: string },
): Promise<void> {
  if (token === undefined) throw new Error(`job ${job.id ?? '(no id)'} has no lock token to give it back with`);
  await redis
    .multi()
    .hset(refusalsKey(refusal.setup), refusal.worker, refusal.reason)
    .expire(refusalsKey(refusal.setup), BLOB_TTL_SECONDS)
    .exec();
  await job.moveToWait(token);
}

/** Forgets `worker`'s refusal of `setup` (it holds the search's model now, after a restart). */
export async function withdrawRefusal(redis: Redis, setup: string, worker: string): Promise<void> {
  await redis.hdel(refusalsKey(setup), worker);
}

/** The reasons of the workers that refused `setup`, by worker name. */
export async function refusalsOf(redis: Redis, setup: string): Promise<Record<string, string>> {
  return redis.hgetall(refusalsKey(setup));
}
