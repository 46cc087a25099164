import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Job, Queue } from 'bullmq';
import { runExperiment } from '../../actors/experiment/run-experiment';
import type { LonasEvent } from '../../src/events';
import { bullConnection } from '../../src/distributed/redis-client';
import { redisTarget } from '../../src/distributed/redis-url';
import { makeTinyCheckpoints } from '../support/tiny-checkpoints';
import { lonasBin, lonasCli } from '../support/cli';
import { describeWithRedis } from '../support/redis-server';
import { freePort, startLocalRedis, type LocalRedis } from '../../tools/local-redis';

const root = path.join(__dirname, '..', '..');
const demo = (...parts: string[]) => path.join(root, 'tools', 'demo', ...parts);

/** A `lonas` process of the test: its stderr so far, and its exit. */
interface Spawned {
  child: ChildProcess;
  stderr(): string;
  exited: Promise<number | null>;
}

function spawnLonas(
  args: string[],
  options: { onStdoutLine?: (line: string) => void; env?: Record<string, string> } = {},
): Spawned {
  const child = spawn(process.execPath, [lonasBin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let stderr = '';
  let pending = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() as string;
    for (const line of lines) options.onStdoutLine?.(line);
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stderr: () => stderr, exited };
}

/** Resolves once `spawned`'s stderr matches `pattern` (rejects if it exits first). */
async function stderrMatches(spawned: Spawned, pattern: RegExp): Promise<void> {
  while (!pattern.test(spawned.stderr())) {
    if (spawned.child.exitCode !== null) throw new Error(`exited before ${pattern}: ${spawned.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const read = (out: string, file: string) => fs.readFileSync(path.join(out, file), 'utf8');
const rows = (out: string, file: string) => read(out, file).trim().split('\n');

describeWithRedis('a search on lonas workers through Redis (--eval_queue)', () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'lonas-distributed-'));
  const adapter = path.join(folder, 'adapter');
  const nncf = path.join(folder, 'config.json');
  const serial = path.join(folder, 'serial');
  let redis: LocalRedis;
  const workers: Spawned[] = [];
  let queueNumber = 0;
  const nextQueue = () => `search-${(queueNumber += 1)}`;

  const config = JSON.parse(fs.readFileSync(path.join(root, 'configs', 'demo-commonsense.json'), 'utf8'));
  config.bootstrapNAS.search = { ...config.bootstrapNAS.search, num_evals: 12, population: 4 };
  config.bootstrapNAS.training.schedule.list_stage_descriptions[0].epochs = 1;
  fs.writeFileSync(nncf, JSON.stringify(config));
  const search = (out: string, ...extra: string[]) => [
    'commonsense',
    ...['--model_name_or_path', demo('model'), '--nncf_config', nncf, '--dataset_path', demo('data', 'train.json')],
    ...['--max_train_samples', '200', '--val_set_size', '96', '--output_dir', out, '--do_search', '--seed', '0'],
    ...['--lora_weights', adapter, '--num_beams', '1', '--max_new_tokens', '6', '--per_device_eval_batch_size', '8'],
    ...extra,
  ];
  /** A `lonas worker` taking jobs (quick to notice a killed peer: 2 s locks, stalled checks every second). */
  const startWorker = async (queue: string, name: string, ...extra: string[]) => {
    const worker = spawnLonas([
      'worker',
      ...[
        '--redis',
        redis.url,
        '--queue',
        queue,
        '--name',
        name,
        '--lock_duration',
        '2000',
        '--stalled_interval',
        '1000',
      ],
      ...extra,
    ]);
    workers.push(worker);
    await stderrMatches(worker, /taking jobs from queue/);
    return worker;
  };
  const jobsOf = async (queue: string) => {
    const admin = new Queue(queue, { connection: bullConnection(redisTarget(redis.url, 'test')) });
    try {
      return await admin.getJobs(['completed', 'failed', 'waiting', 'active', 'delayed']);
    } finally {
      await admin.close();
    }
  };

  beforeAll(async () => {
    redis = await startLocalRedis({ persist: true });
    // A super-adapter trained a little (its B matrices are not zero), then the search in one process.
    const trained = await runExperiment({
      task: {
        kind: 'commonsense',
        datasetPath: demo('data', 'train.json'),
        valSetSize: 96,
        datasetsDir: demo('data', 'datasets'),
        maxTrainSamples: 200,
        cutoffLen: 128,
        trainOnInputs: false,
        numBeams: 1,
        maxNewTokens: 6,
      },
      model: demo('model'),
      nncfConfig: nncf,
      outputDir: adapter,
      phases: { test: false, search: false },
      training: { batchSize: 16, epochs: 1, seed: 0, optim: 'adamw_torch', saveStrategy: 'no' },
    }).result;
    expect(trained.status).toBe('done');
    const reference = await lonasCli(search(serial));
    expect(reference.code).toBe(0);
  }, 120_000);

  afterEach(async () => {
    for (const worker of workers.splice(0)) {
      worker.child.kill('SIGKILL');
      await worker.exited;
    }
  });

  afterAll(async () => {
    await redis.remove();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  it('two workers, one SIGKILLed mid-job: its job is retried by the other, and the search equals the one in process', async () => {
    const queue = nextQueue();
    const out = path.join(folder, 'queued');
    const [first, second] = [await startWorker(queue, 'wa'), await startWorker(queue, 'wb')];
    let killed: string | undefined;
    const events: LonasEvent[] = [];
    const run = spawnLonas(search(out, '--eval_queue', redis.url, '--eval_queue_name', queue, '--events'), {
      onStdoutLine: (line) => {
        const event = JSON.parse(line) as LonasEvent;
        events.push(event);
        // The first worker halfway through a candidate: killed, with no chance to give its job back.
        if (killed === undefined && event.type === 'eval.progress' && event.evaluator !== undefined) {
          if (event.done < event.total / 2) {
            killed = event.evaluator;
            (killed === 'wa' ? first : second).child.kill('SIGKILL');
          }
        }
      },
    });
    expect(await run.exited).toBe(0);
    expect(killed).toBeDefined();
    // The same evaluations as the search in one process: the same rows, each candidate once.
    for (const file of ['search_progression.csv', 'cache_MACs.csv', 'cache_top1_acc.csv']) {
      expect(new Set(rows(out, file))).toEqual(new Set(rows(serial, file)));
      expect(rows(out, file)).toHaveLength(rows(serial, file).length);
    }
    expect(JSON.parse(read(out, 'best_subnet.json'))).toEqual(JSON.parse(read(serial, 'best_subnet.json')));
    const scored = events.flatMap((e) => (e.type === 'search.candidate' && !e.cached ? [e] : []));
    expect(new Set(scored.map((e) => JSON.stringify(e.subnet))).size).toBe(scored.length);
    // The killed worker's job went back to the queue and the survivor completed it.
    const survivor = killed === 'wa' ? 'wb' : 'wa';
    const jobs = await jobsOf(queue);
    const retried = jobs.filter((job) => job.stalledCounter > 0);
    expect(retried.length).toBeGreaterThanOrEqual(1);
    for (const job of retried) {
      expect(job.finishedOn).toBeDefined();
      expect((job.returnvalue as { worker: string }).worker).toBe(survivor);
    }
    expect(jobs.every((job) => job.finishedOn !== undefined && job.failedReason === undefined)).toBe(true);
    // Which worker scored which candidate, and the queue's figures, reached events.jsonl.
    const recorded = rows(out, 'events.jsonl').map((line) => JSON.parse(line) as LonasEvent);
    expect(new Set(recorded.flatMap((e) => (e.type === 'search.candidate' ? [e.evaluator] : [])))).toContain(survivor);
    expect(recorded.some((e) => e.type === 'search.queue' && e.workers === 2)).toBe(true);
  });

  it('the search process killed: the restart takes the cached and completed candidates, and enqueues only the rest', async () => {
    const queue = nextQueue();
    const out = path.join(folder, 'restarted');
    const worker = await startWorker(queue, 'wc');
    const args = search(out, '--eval_queue', redis.url, '--eval_queue_name', queue, '--events');
    let candidates = 0;
    const first = spawnLonas(args, {
      onStdoutLine: (line) => {
        if ((JSON.parse(line) as LonasEvent).type === 'search.candidate' && (candidates += 1) === 3) {
          first.child.kill('SIGKILL');
        }
      },
    });
    await first.exited;
    const cachedBefore = rows(out, 'cache_top1_acc.csv').length;
    const again = await lonasCli(args.slice(0, -1));
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`resuming the search: ${cachedBefore} subnets cached`);
    expect(new Set(rows(out, 'search_progression.csv'))).toEqual(new Set(rows(serial, 'search_progression.csv')));
    // One job per candidate the workers scored, each scored once: nothing was evaluated twice.
    const evaluations = worker.stderr().match(/: accuracy \d/g) ?? [];
    const jobs = await jobsOf(queue);
    expect(jobs.every((job) => job.finishedOn !== undefined)).toBe(true);
    expect(evaluations).toHaveLength(jobs.length);
    expect(new Set(jobs.map((job) => job.data.key)).size).toBe(jobs.length);
  });

  it('no workers: the search says so, and completes once one starts; a malformed job fails alone', async () => {
    const queue = nextQueue();
    const out = path.join(folder, 'lonely');
    const run = spawnLonas(search(out, '--eval_queue', redis.url, '--eval_queue_name', queue));
    await stderrMatches(run, /no evaluator workers on queue/);
    expect(run.stderr()).toContain(
      `no evaluator workers on queue '${queue}' at ${redis.url}: 4 candidates wait; start one with 'lonas worker --redis ${redis.url} --queue ${queue}'`,
    );
    // Junk ahead of the search's jobs: the worker fails it with the reason and goes on.
    const admin = new Queue(queue, { connection: bullConnection(redisTarget(redis.url, 'test')) });
    const junk = await admin.add('evaluate', { setup: 'not-a-hash', subnet: [1, 2] }, { priority: 1 });
    await admin.close();
    const worker = await startWorker(queue, 'wd');
    expect(await run.exited).toBe(0);
    const failed = (await jobsOf(queue)).find((job) => job.id === junk.id) as Job;
    expect(failed.failedReason).toMatch(/^worker wd: malformed job: job \d+: 'setup' must be a SHA-256 in hex/);
    expect(failed.failedReason).toContain("'key' must be string");
    expect(worker.child.exitCode).toBeNull();
    expect(new Set(rows(out, 'search_progression.csv'))).toEqual(new Set(rows(serial, 'search_progression.csv')));
    // SIGTERM: the worker finishes what it holds (nothing now) and exits as a shell reports it.
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(143);
  });

  it('Redis restarted mid-search: the search and the worker reconnect, and the search completes', async () => {
    const queue = nextQueue();
    const out = path.join(folder, 'redis-restarted');
    await startWorker(queue, 'wg');
    let candidates = 0;
    let restarting: Promise<void> | undefined;
    const run = spawnLonas(search(out, '--eval_queue', redis.url, '--eval_queue_name', queue, '--events'), {
      onStdoutLine: (line) => {
        if ((JSON.parse(line) as LonasEvent).type !== 'search.candidate' || (candidates += 1) !== 3) return;
        // Redis away until the search has said so, then back with its data (append-only).
        restarting = (async () => {
          await redis.stop();
          await stderrMatches(run, /Redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable/);
          await redis.start();
        })();
      },
    });
    expect(await run.exited).toBe(0);
    await restarting;
    expect(new Set(rows(out, 'search_progression.csv'))).toEqual(new Set(rows(serial, 'search_progression.csv')));
  });

  it('a worker whose base model differs gives the jobs back: the search waits, saying what differs, and a worker that holds the model evaluates every candidate', async () => {
    const queue = nextQueue();
    const out = path.join(folder, 'refused');
    const tiny = makeTinyCheckpoints();
    try {
      const bad = await startWorker(queue, 'we', '--model', tiny.path('llama'));
      const events: LonasEvent[] = [];
      const run = spawnLonas(search(out, '--eval_queue', redis.url, '--eval_queue_name', queue, '--events'), {
        onStdoutLine: (line) => events.push(JSON.parse(line) as LonasEvent),
      });
      const refusal = `worker we refuses this search's jobs: the base model at ${tiny.path('llama')} is not the search's: its config differs: `;
      // Only the refusing worker: the search waits, saying why.
      await stderrMatches(run, /worker we refuses this search's jobs: the base model at .* is not the search's/);
      await stderrMatches(
        bad,
        /refusing the jobs of search setup [0-9a-f]{12}: the base model at .* is not the search's/,
      );
      await startWorker(queue, 'wh');
      expect(await run.exited).toBe(0);
      for (const file of ['search_progression.csv', 'cache_MACs.csv', 'cache_top1_acc.csv']) {
        expect(new Set(rows(out, file))).toEqual(new Set(rows(serial, file)));
      }
      expect(JSON.parse(read(out, 'best_subnet.json'))).toEqual(JSON.parse(read(serial, 'best_subnet.json')));
      const scored = events.flatMap((e) => (e.type === 'search.candidate' && !e.cached ? [e.evaluator] : []));
      expect(new Set(scored)).toEqual(new Set(['wh']));
      // The refusals spent no try: every job completed on its first.
      const jobs = await jobsOf(queue);
      expect(jobs.map((job) => [job.attemptsMade, job.failedReason])).toEqual(jobs.map(() => [1, undefined]));
      // Said once on the terminal, and in the events.
      expect(run.stderr().split(refusal)).toHaveLength(2);
      expect(events.some((e) => e.type === 'search.queue' && e.warning?.startsWith(refusal))).toBe(true);
      expect(bad.child.exitCode).toBeNull();
    } finally {
      tiny.remove();
    }
  });

  it('Redis unreachable at start: the search and the worker say so before loading anything', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const [searchRun, workerRun] = await Promise.all([
      lonasCli(search(path.join(folder, 'unreachable'), '--eval_queue', url)),
      lonasCli(['worker', '--redis', url]),
    ]);
    for (const run of [searchRun, workerRun]) {
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(new RegExp(`cannot reach Redis at ${url.replace(/\./g, '\\.')}: .*ECONNREFUSED`));
      expect(run.stderr).not.toContain('backend');
    }
  });

  it('a password and TLS: the search runs on a worker, and the password appears nowhere', async () => {
    const password = 'pw-7f3a9c-do-not-print';
    const tls = path.join(folder, 'tls');
    fs.mkdirSync(tls);
    const openssl = (...args: string[]) => {
      expect(spawnSync('openssl', args, { cwd: tls }).status).toBe(0);
    };
    openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=lonas test CA',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
    );
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
    );
    fs.writeFileSync(path.join(tls, 'san.cnf'), 'subjectAltName=DNS:localhost\n');
    openssl(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      'san.cnf',
      '-out',
      'server.pem',
    );
    const secure = await startLocalRedis({
      persist: true,
      password,
      tls: { cert: path.join(tls, 'server.pem'), key: path.join(tls, 'server.key'), ca: path.join(tls, 'ca.pem') },
    });
    try {
      expect(secure.url).toBe(`rediss://:${password}@localhost:${secure.port}`);
      const env = { NODE_EXTRA_CA_CERTS: path.join(tls, 'ca.pem') };
      const worker = spawnLonas(['worker', '--redis', secure.url, '--name', 'wf'], { env });
      workers.push(worker);
      await stderrMatches(worker, /taking jobs from queue/);
      const out = path.join(folder, 'secure');
      const run = await lonasCli(search(out, '--eval_queue', secure.url, '--events'), { env });
      expect(run.code).toBe(0);
      expect(new Set(rows(out, 'search_progression.csv'))).toEqual(new Set(rows(serial, 'search_progression.csv')));
      for (const text of [run.stdout, run.stderr, worker.stderr(), read(out, 'events.jsonl')]) {
        expect(text).not.toContain(password);
      }
      expect(read(out, 'events.jsonl')).toContain(`"redis":"rediss://:***@localhost:${secure.port}"`);
      // The wrong password is refused in seconds, and not printed either.
      const wrong = await lonasCli(['worker', '--redis', secure.url.replace(password, 'wrong-secret')], { env });
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/cannot reach Redis at rediss:\/\/:\*\*\*@localhost:\d+: WRONGPASS/);
      expect(wrong.stderr).not.toContain('wrong-secret');
    } finally {
      await secure.remove();
    }
  });
});
