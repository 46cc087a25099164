import * as os from 'os';
import { startQueueWorker } from '../../actors/evaluators/queue-worker';
import { DEFAULT_EVAL_QUEUE } from '../../src/distributed/eval-job';
import { REDIS_PASSWORD_ENV } from '../../src/distributed/redis-url';
import { parseFlags, UsageError, type Command } from './command';
import { integer } from './flag-values';

const usage = `usage: lonas worker --redis URL [options]

Evaluates candidates of searches run with --eval_queue, taken from a Redis queue: start one (or
more) on every machine that holds the base model. Runs until SIGINT or SIGTERM (then finishes the
jobs it holds; a second signal exits at once).

  --redis URL              redis://[:password@]host[:port][/db], or rediss://... for TLS
                           (a URL without a password uses $${REDIS_PASSWORD_ENV} when set)
  --queue NAME             the queue to take jobs from (default ${DEFAULT_EVAL_QUEUE})
  --concurrency N          candidates evaluated at once, each on its own thread and model (default 1)
  --model PATH             this machine's copy of the base model (default: the search's path);
                           a search whose model differs (config or content hash) is refused:
                           its jobs are left to other workers
  --tokenizer PATH         this machine's tokenizer, for checkpoints without one (default: the search's)
  --name NAME              the worker's name in results and events (default <hostname>-<pid>)
  --backend NAME           tensor backend of the evaluators (default: automatic)
  --lock_duration MS       a job's lock without renewal; a killed worker's job is retried after it
                           (default 30000)
  --stalled_interval MS    how often to look for jobs of killed workers (default 30000)`;

export const workerCommand: Command = {
  name: 'worker',
  summary: "evaluate a distributed search's candidates from a Redis queue",
  usage,
  async run(args) {
    const values = parseFlags(args, {
      redis: { type: 'string' },
      queue: { type: 'string' },
      concurrency: { type: 'string' },
      model: { type: 'string' },
      tokenizer: { type: 'string' },
      name: { type: 'string' },
      backend: { type: 'string' },
      lock_duration: { type: 'string' },
      stalled_interval: { type: 'string' },
    });
    if (values.redis === undefined) throw new UsageError('--redis URL is required (the Redis the search enqueues on)');
    const name = values.name ?? `${os.hostname()}-${process.pid}`;
    const say = (line: string) => process.stderr.write(`lonas worker ${name}: ${line}\n`);
    const worker = await startQueueWorker({
      url: values.redis,
      queue: values.queue,
      concurrency: integer(values.concurrency, '--concurrency', 1, 1),
      model: values.model,
      tokenizer: values.tokenizer,
      name,
      backend: values.backend,
      lockDurationMs: integer(values.lock_duration, '--lock_duration', 30_000, 100),
      stalledIntervalMs: integer(values.stalled_interval, '--stalled_interval', 30_000, 100),
      log: (line) => say(line),
    });
    return new Promise<number>((resolve) => {
      let stopping = false;
      const stop = (signal: 'SIGINT' | 'SIGTERM') => {
        const code = signal === 'SIGINT' ? 130 : 143;
        if (stopping) process.exit(code);
        stopping = true;
        say(`${signal}: finishing the jobs held (send it again to exit at once)`);
        void worker.close().then(() => resolve(code));
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });
  },
};
