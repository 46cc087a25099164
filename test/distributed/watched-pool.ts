import { filter, firstValueFrom, from, lastValueFrom, Subject, toArray } from 'rxjs';
import type { Candidate, Evaluated, EvaluatorPool } from '../../actors/evaluators/evaluator-pool';
import { queuePool, type QueuePoolOptions } from '../../actors/evaluators/queue-pool';
import type { LonasEvent, SearchQueueEvent } from '../../src/events';

/** A test's queue pool, polling every 100 ms, with its events on a subject a test can wait on. */
export async function watchedPool(options: Omit<QueuePoolOptions, 'emit' | 'pollMs'>): Promise<{
  pool: EvaluatorPool;
  events: Subject<LonasEvent>;
  /** Starts evaluating `candidates` and waits for the first warning; the results are still to come. */
  evaluateUntilWarned(candidates: Candidate[]): Promise<{ warning: SearchQueueEvent; results: Promise<Evaluated[]> }>;
}> {
  const events = new Subject<LonasEvent>();
  const pool = await queuePool({ ...options, pollMs: 100, emit: (e) => events.next(e) });
  return {
    pool,
    events,
    evaluateUntilWarned: async (candidates) => {
      const warned = firstValueFrom(
        events.pipe(filter((e): e is SearchQueueEvent => e.type === 'search.queue' && e.warning !== undefined)),
      );
      const results = lastValueFrom(pool.evaluate(from(candidates)).pipe(toArray()));
      return { warning: await warned, results };
    },
  };
}
