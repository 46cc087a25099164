import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { startQueueWorker } from '../../actors/evaluators/queue-worker';
import { sha256 } from '../../src/distributed/blob-store';
import type { EvalSetup, PublishedSetup } from '../../src/distributed/eval-setup';
import { describeWithRedis } from '../support/redis-server';
import { startLocalRedis, type LocalRedis } from '../../tools/local-redis';
import { watchedPool } from './watched-pool';
import { fakeWorker } from './fake-workers';

/** A setup that decodes (a worker reads it before it checks its model); its blobs are never fetched. */
function setupOfModel(modelPath: string): PublishedSetup {
  const none = sha256('never fetched');
  const setup: EvalSetup = {
    format: 'lonas-eval-setup/1',
    task: { kind: 'commonsense' } as EvalSetup['task'],
    model: { path: modelPath, identity: { config: {}, files: none } },
    nncfConfig: none,
    adapter: { config: none, weights: none },
    validation: none,
    lora: {},
    seed: 0,
    evalBatchSize: 1,
  };
  return { hash: sha256(JSON.stringify(setup)), setup, blobs: [] };
}

describeWithRedis('a lonas worker without the search base model', () => {
  let redis: LocalRedis;
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'lonas-queue-worker-'));
  beforeAll(async () => {
    redis = await startLocalRedis();
  });
  afterAll(async () => {
    await redis.remove();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  it('refuses the jobs without spending their tries, saying why, and another worker evaluates them', async () => {
    const queue = `worker-${process.pid}`;
    const missing = path.join(folder, 'no-model-here');
    const lines: string[] = [];
    const worker = await startQueueWorker({
      url: redis.url,
      queue,
      model: missing,
      name: 'wk',
      log: (line) => lines.push(line),
    });
    // One try per candidate: a refusal that spent it would fail the candidate.
    const { pool, evaluateUntilWarned } = await watchedPool({
      url: redis.url,
      queue,
      setup: setupOfModel('/search/model'),
      attempts: 1,
    });
    let good: ReturnType<typeof fakeWorker> | undefined;
    try {
      const { warning, results } = await evaluateUntilWarned([{ key: '(3)', subnet: { 0: 3 } }]);
      expect(warning.warning).toMatch(
        new RegExp(`^worker wk refuses this search's jobs: cannot read the base model at ${missing}: .+`),
      );
      expect(lines.filter((line) => line.startsWith('refusing the jobs of search setup'))).toHaveLength(1);
      good = fakeWorker(redis, queue, 'good');
      expect((await results).map((r) => [r.evaluator, r.accuracy])).toEqual([['good', 0.3]]);
    } finally {
      await pool.close();
      await worker.close();
      await good?.close();
    }
  });
});
