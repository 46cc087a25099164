import { DEFAULT_EVAL_QUEUE } from '../../src/distributed/eval-job';
import { redisTarget } from '../../src/distributed/redis-url';
import type { NasConfig } from '../../src/nas/nas-config';
import type { TaskConfig } from '../../src/tasks/task-config';
import { ExperimentError } from '../../src/util/experiment-error';
import { evaluatorWorkerFile } from '../evaluators/worker-pool';
import type { EvaluatorsChoice, ExperimentConfig } from './experiment-config';

/** Where the search's candidates are scored: here, on worker threads, on queue workers through Redis, or by the script's own pool. */
export type EvaluatorChoice =
  | { kind: 'here' }
  | { kind: 'threads'; size: number; task: TaskConfig }
  | { kind: 'queue'; url: string; queue: string; field: string; task: TaskConfig }
  | { kind: 'given'; evaluators: EvaluatorsChoice };

/**
 * The evaluators a config asks for: `evaluators`, else a queue (evalQueue or lonas.eval_queue),
 * else worker threads (evalWorkers or lonas.eval_workers above 1), else this process. Threads and
 * queue workers open the task from its config, so a task object of the script's own stays here.
 */
export function evaluatorChoiceOf(config: ExperimentConfig, nasConfig: NasConfig): EvaluatorChoice {
  const lonas = nasConfig.nncf.lonas;
  const workers = config.evalWorkers ?? lonas?.eval_workers;
  const workersField =
    config.evalWorkers !== undefined ? 'evalWorkers (--eval_workers)' : `${nasConfig.source}: lonas.eval_workers`;
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 1)) {
    throw new ExperimentError(`${workersField} must be a positive integer, got ${workers}`);
  }
  const queueUrl = config.evalQueue ?? lonas?.eval_queue;
  const queueField =
    config.evalQueue !== undefined ? 'evalQueue (--eval_queue)' : `${nasConfig.source}: lonas.eval_queue`;
  if (queueUrl !== undefined) redisTarget(queueUrl, queueField);
  const threads = workers !== undefined && workers > 1;
  const asked = [
    ...(config.evaluators === undefined ? [] : ['evaluators']),
    ...(queueUrl === undefined ? [] : [queueField]),
    ...(threads ? [`${workersField} ${workers}`] : []),
  ];
  if (asked.length > 1) {
    throw new ExperimentError(
      `${asked.join(' and ')} each ask where to evaluate: use one (queue workers take --concurrency)`,
    );
  }
  if (config.evaluators !== undefined) return { kind: 'given', evaluators: config.evaluators };
  if (queueUrl === undefined && !threads) return { kind: 'here' };
  const task = config.task;
  if (!('kind' in task)) {
    throw new ExperimentError(
      `${asked[0]}: evaluators elsewhere open the task from its config; a task object stays in this process (pass evaluators instead)`,
    );
  }
  if (queueUrl !== undefined) {
    return {
      kind: 'queue',
      url: queueUrl,
      queue: config.evalQueueName ?? lonas?.eval_queue_name ?? DEFAULT_EVAL_QUEUE,
      field: queueField,
      task,
    };
  }
  // The compiled worker file must exist before a search relies on it.
  evaluatorWorkerFile();
  return { kind: 'threads', size: workers as number, task };
}
