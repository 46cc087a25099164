import { concatMap, type Observable } from 'rxjs';
import type { SubnetConfig } from '../../src/nas/search-space';
import type { TaskObjective } from '../../src/tasks/task';

/** A subnet the search wants scored; `key` names it in the caches (its gene tuple). */
export interface Candidate {
  key: string;
  subnet: SubnetConfig;
}

/** A candidate scored: its accuracy objective, and which evaluator scored it. */
export interface Evaluated extends Candidate {
  accuracy: number;
  evaluator: string;
  /** The MACs (millions) the evaluator counted, where it reports them: the search checks them against its own. */
  macs?: number;
}

/**
 * Evaluators behind one interface: the search streams candidates in, results stream out as each
 * is ready (not necessarily in order). In-process, worker threads, or a queue over many machines
 * are implementations; the search does not know which it has.
 */
export interface EvaluatorPool {
  /** How many candidates it scores at once. */
  readonly size: number;
  evaluate(candidates: Observable<Candidate>): Observable<Evaluated>;
  /** Frees what the pool holds (workers, models). */
  close(): Promise<void>;
}

/** A pool a script hands over: the pool itself, or a function making one for the search's objective. */
export type GivenEvaluators = EvaluatorPool | ((objective: TaskObjective) => EvaluatorPool | Promise<EvaluatorPool>);

/** One evaluator in this process: candidates scored one after another by `score`. */
export function inProcessPool(score: (subnet: SubnetConfig) => Promise<number>): EvaluatorPool {
  return {
    size: 1,
    evaluate: (candidates) =>
      candidates.pipe(
        concatMap(async (candidate) => ({ ...candidate, accuracy: await score(candidate.subnet), evaluator: 'main' })),
      ),
    close: async () => {},
  };
}
