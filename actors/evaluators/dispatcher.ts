import { Observable } from 'rxjs';
import type { Candidate, Evaluated, EvaluatorPool } from './evaluator-pool';

/** Where a transport reports, as soon as it knows, how one evaluation's candidates went. */
export interface Outcomes {
  /** One of the evaluation's candidates, scored. */
  scored(result: Evaluated): void;
  /** The evaluation cannot go on: a candidate failed, or the transport broke (a worker exited, Redis was lost). */
  failed(error: unknown): void;
}

/** One evaluation as a transport serves it. */
export interface Session {
  /** Starts scoring `candidate`; its result or failure goes to the evaluation's outcomes. */
  submit(candidate: Candidate): void;
  /** The evaluation has ended (completed, errored or unsubscribed): work still running for it stops or is left. */
  end(): void;
}

/** How candidates reach evaluators: worker threads or processes, jobs on a Redis queue. */
export interface Transport {
  /** Names the pool in errors (`worker pool`). */
  readonly name: string;
  /** How many candidates it scores at once. */
  readonly size: number;
  /** Starts serving one evaluation, reporting to `outcomes`. */
  open(outcomes: Outcomes): Session;
  /** Frees what it holds (called once). */
  close(): Promise<void>;
}

/**
 * The evaluator pool over `transport`. Each evaluation hands its candidates to the transport as
 * they come and emits their results in the order they finish; it completes once its input has and
 * no candidate is left unscored. The first failure errors it: a candidate's or the transport's,
 * its input's, or `signal` aborted (with the signal's reason). However it ends, its session ends
 * with it. After `close`, an evaluation errors at once.
 */
export function dispatchingPool(transport: Transport, signal?: AbortSignal): EvaluatorPool {
  let closed = false;
  return {
    get size() {
      return transport.size;
    },
    evaluate: (candidates) =>
      new Observable<Evaluated>((subscriber) => {
        if (closed) {
          subscriber.error(new Error(`the ${transport.name} is closed`));
          return;
        }
        /** Keys handed to the transport and not scored yet (a queue scores a key sent twice once). */
        const unscored = new Set<string>();
        let inputDone = false;
        let finished = false;
        const fail = (error: unknown) => {
          if (finished) return;
          finished = true;
          subscriber.error(error);
        };
        const completeIfDone = () => {
          if (finished || !inputDone || unscored.size > 0) return;
          finished = true;
          subscriber.complete();
        };
        const session = transport.open({
          scored: (result) => {
            if (finished) return;
            unscored.delete(result.key);
            subscriber.next(result);
            completeIfDone();
          },
          failed: fail,
        });
        const onAbort = () => fail(signal?.reason);
        signal?.addEventListener('abort', onAbort, { once: true });
        const input = candidates.subscribe({
          next: (candidate) => {
            // A candidate that arrives after a failure is not worth starting.
            if (finished) return;
            unscored.add(candidate.key);
            session.submit(candidate);
          },
          error: fail,
          complete: () => {
            inputDone = true;
            completeIfDone();
          },
        });
        if (signal?.aborted) onAbort();
        return () => {
          finished = true;
          input.unsubscribe();
          signal?.removeEventListener('abort', onAbort);
          session.end();
        };
      }),
    close: async () => {
      if (closed) return;
      closed = true;
      await transport.close();
    },
  };
}
