/**
 * One evaluator of a worker pool (actors/evaluators/worker-pool.ts), run from its compiled file as a worker
 * thread or a child process: it opens the experiment it is sent exactly as the experiment's load
 * phase does (backend, base model, super-network with the adapter of `config.loraWeights`,
 * tokenizer, task), then scores the subnets it is sent with the task's objective, one at a time.
 */
import { parentPort } from 'worker_threads';
import { blasAddon } from '../../src/backend/kernels/blas-addon';
import type { LonasEvent } from '../../src/events';
import type { EvaluatorConfig } from '../../src/experiment/evaluator-config';
import { openExperiment } from '../../src/experiment/open-experiment';
import type { SubnetConfig } from '../../src/nas/search-space';
import { subnetCost } from '../../src/nas/cost';
import { ExperimentError } from '../../src/util/experiment-error';
import type { TaskObjective } from '../../src/tasks/task';
import { taskOf } from '../../src/tasks/task-of';
import { errorMessage } from '../../src/util/error-message';

/** What the pool sends a worker: first `open`, then `score` for one candidate at a time. */
export type WorkerRequest =
  | {
      type: 'open';
      /** The worker's name in events and errors (`worker-1`). */
      id: string;
      config: EvaluatorConfig;
      /** Print the backend line (prefixed with the worker's name) to stderr. */
      logBackend: boolean;
      /** OpenBLAS threads to set once open (in a worker thread this is process-wide). */
      blasThreads?: number;
      /** Validation records to score on instead of the task's own (a queue job's, fetched from Redis). */
      validation?: unknown[];
    }
  | { type: 'score'; key: string; subnet: SubnetConfig };

/** What a worker answers. */
export type WorkerReply =
  | { type: 'opened' }
  /** `macs`: the candidate's MACs in millions, as this worker's model counts them. */
  | { type: 'result'; key: string; accuracy: number; macs: number }
  /** `key` names the candidate that failed; without one, opening the experiment failed. */
  | { type: 'failed'; key?: string; message: string }
  | { type: 'event'; event: LonasEvent };

interface Channel {
  send(reply: WorkerReply): void;
  onRequest(handler: (request: WorkerRequest) => void): void;
}

/** The pool's end: a worker thread's parent port, or a forked child's IPC channel. */
function channel(): Channel | undefined {
  const port = parentPort;
  if (port !== null) {
    return { send: (reply) => port.postMessage(reply), onRequest: (handler) => port.on('message', handler) };
  }
  const send = process.send?.bind(process);
  if (send === undefined) return undefined;
  // A child whose parent has gone has no one to answer.
  process.on('disconnect', () => process.exit(0));
  return { send: (reply) => send(reply), onRequest: (handler) => process.on('message', handler) };
}

function serve(pool: Channel): void {
  let objective: Promise<{ score: TaskObjective['score']; macs: (subnet: SubnetConfig) => number }> | undefined;
  // Requests are handled one after another: a score waits for the open before it.
  let queue: Promise<void> = Promise.resolve();
  const open = async (request: Extract<WorkerRequest, { type: 'open' }>) => {
    const { config } = request;
    const task = taskOf(config.task);
    const refuse = () => {
      throw new ExperimentError('an evaluator worker writes no files');
    };
    const log = request.logBackend
      ? (line: string) => process.stderr.write(`${line.replace(/^lonas: /, `lonas: evaluator ${request.id}: `)}\n`)
      : () => {};
    const opened = await openExperiment(
      config,
      task,
      {
        emit: (event) => pool.send({ type: 'event', event }),
        output: { writeJson: refuse, mergeJson: refuse },
        // The pool stops a worker's work by ending the worker.
        signal: new AbortController().signal,
      },
      { evaluates: true, log },
    );
    const blas = blasAddon().addon;
    if (blas !== undefined && request.blasThreads !== undefined && blas.threads() !== request.blasThreads) {
      blas.setThreads(request.blasThreads);
      log(`lonas: OpenBLAS set to ${request.blasThreads} thread(s)`);
    }
    const found = opened.bound.objective?.(request.validation);
    if (found === undefined) throw new ExperimentError(`${task.name} has no validation set to search on`);
    const { network, tokens } = opened;
    return {
      score: found.score,
      macs: (subnet: SubnetConfig) => subnetCost(network.plan, subnet, { tokens }).macs / 1e6,
    };
  };
  pool.onRequest((request) => {
    queue = queue.then(async () => {
      if (request.type === 'open') {
        objective = open(request);
        try {
          await objective;
          pool.send({ type: 'opened' });
        } catch (error) {
          pool.send({ type: 'failed', message: errorMessage(error) });
        }
        return;
      }
      try {
        if (objective === undefined) throw new Error('asked to score before the experiment was opened');
        const { score, macs } = await objective;
        const accuracy = await score(request.subnet);
        pool.send({ type: 'result', key: request.key, accuracy, macs: macs(request.subnet) });
      } catch (error) {
        pool.send({ type: 'failed', key: request.key, message: errorMessage(error) });
      }
    });
  });
}

if (require.main === module) {
  const pool = channel();
  if (pool === undefined) {
    process.stderr.write(
      'evaluator-worker: run by actors/evaluators/worker-pool.ts as a worker thread or a forked process\n',
    );
    process.exit(2);
  }
  serve(pool);
}
