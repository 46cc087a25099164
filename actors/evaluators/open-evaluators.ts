import type { PublishedSetup } from '../../src/distributed/eval-setup';
import type { EvaluatorConfig } from '../../src/experiment/evaluator-config';
import type { LonasEvent } from '../../src/events';
import type { TaskObjective } from '../../src/tasks/task';
import { inProcessPool, type EvaluatorPool, type GivenEvaluators } from './evaluator-pool';
import { queuePool } from './queue-pool';
import { workerPool } from './worker-pool';

/** Where a search's candidates are scored, as a run's settings decide. */
export type EvaluatorsWanted =
  | { kind: 'here' }
  /** Worker threads, each opening `config` as the load phase does. */
  | { kind: 'threads'; size: number; config: EvaluatorConfig }
  /** Queue workers through Redis, sent the setup (built only when this transport is taken). */
  | { kind: 'queue'; url: string; queue: string; field: string; setup: () => Promise<PublishedSetup> }
  /** The script's own pool, or a function making one for the objective. */
  | {
      kind: 'given';
      evaluators: GivenEvaluators;
    };

/** The pool of evaluators a search streams its candidates to, for `objective`. */
export async function openEvaluators(
  wanted: EvaluatorsWanted,
  objective: TaskObjective,
  options: { emit: (event: LonasEvent) => void; signal: AbortSignal },
): Promise<EvaluatorPool> {
  switch (wanted.kind) {
    case 'here':
      return inProcessPool((subnet) => objective.score(subnet));
    case 'threads':
      return workerPool({ size: wanted.size, config: wanted.config, ...options });
    case 'queue':
      return queuePool({
        url: wanted.url,
        field: wanted.field,
        queue: wanted.queue,
        setup: await wanted.setup(),
        ...options,
      });
    case 'given':
      return typeof wanted.evaluators === 'function' ? wanted.evaluators(objective) : wanted.evaluators;
  }
}
