import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { chromium, type Browser } from 'playwright-core';
import { Subject } from 'rxjs';
import { LiveServer } from '../../tools/live/live-server';
import type {
  EvaluationEvent,
  EvaluationProgressEvent,
  LonasEvent,
  SearchCandidateEvent,
  SearchQueueEvent,
} from '../../src/events';
import { makeTinyCheckpoints } from '../support/tiny-checkpoints';
import { SENTENCES } from '../support/training';
import { describeUnless } from '../support/describe-unless';

/** Debian's Chromium (.ci/run installs it where missing). */
const CHROMIUM = '/usr/bin/chromium';
const lonas = path.join(__dirname, '..', '..', 'bin', 'lonas.js');
const artifacts = path.join(__dirname, '..', '..', 'test-artifacts');

const launch = (): Promise<Browser> =>
  chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });

const chromiumMissing = fs.existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is absent`;

describeUnless(chromiumMissing, 'the live dashboard in headless Chromium', () => {
  const tiny = makeTinyCheckpoints();
  afterAll(() => tiny.remove());

  it('fills its charts, stage, front and table during a run, and saves a screenshot', async () => {
    const corpus = path.join(tiny.folder, 'train.json');
    fs.writeFileSync(
      corpus,
      JSON.stringify(
        Array.from({ length: 120 }, (_, i) => ({
          instruction: SENTENCES[i % SENTENCES.length],
          input: '',
          output: i % 2 ? 'true' : 'false',
          answer: i % 2 ? 'true' : 'false',
        })),
      ),
    );
    const config = JSON.parse(
      fs.readFileSync(path.join(__dirname, '..', '..', 'configs', 'tiny', 'llama.json'), 'utf8'),
    );
    config.bootstrapNAS.search = { algorithm: 'NSGA2', num_evals: 32, population: 4, ref_acc: 0.3, acc_delta: 0.01 };
    config.bootstrapNAS.training.schedule.list_stage_descriptions = [
      { train_dims: ['width'], epochs: 1, width_indicator: 2, init_lr: 0.02, sample_rate: 1 },
      { train_dims: ['width'], epochs: 1, width_indicator: 5, init_lr: 0.01, sample_rate: 1 },
    ];
    const configFile = path.join(tiny.folder, 'dashboard.json');
    fs.writeFileSync(configFile, JSON.stringify(config));
    const run = spawn(
      process.execPath,
      [
        lonas,
        'commonsense',
        '--model_name_or_path',
        tiny.path('llama'),
        '--nncf_config',
        configFile,
        '--dataset_path',
        corpus,
        '--val_set_size',
        '8',
        '--cutoff_len',
        '96',
        '--per_device_train_batch_size',
        '4',
        '--output_dir',
        path.join(tiny.folder, 'out'),
        '--do_train',
        '--do_search',
        '--num_beams',
        '1',
        '--max_new_tokens',
        '2',
        '--live',
        '127.0.0.1:0',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const finished = new Promise<number | null>((resolve) => run.on('close', resolve));
    const url = await new Promise<string>((resolve, reject) => {
      let stderr = '';
      run.stderr?.on('data', (chunk) => {
        stderr += chunk;
        const match = /live at ws:\/\/([^\s;]+)/.exec(stderr);
        if (match !== null) resolve(`http://${match[1]}/`);
      });
      run.on('close', () => reject(new Error(stderr)));
    });
    const browser = await launch();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
      await page.goto(url);
      await page.waitForFunction('Number(document.body.dataset.steps) > 0', undefined, { timeout: 60_000 });
      await page.waitForFunction('Number(document.body.dataset.front) > 0', undefined, { timeout: 120_000 });
      expect(await page.textContent('#stage')).toMatch(
        /^stage\d \(from epoch \d\): width_indicator \d, sample_rate 1$/,
      );
      expect(await page.textContent('#subnet')).toMatch(/^\{"0":\d+/);
      expect(await page.locator('#candidates tr').count()).toBeGreaterThan(0);
      // The validation before the search: the maximal and heuristic subnets, in the Evaluation panel.
      await page.waitForFunction('Number(document.body.dataset.evaluations) >= 2', undefined, { timeout: 30_000 });
      expect(await page.locator('#evalResults tr td:first-child').allTextContents()).toEqual(
        expect.arrayContaining(['val_maximal', 'val_heuristic']),
      );
      await page.locator('#candidates tr').first().click();
      expect(await page.textContent('#command')).toMatch(
        /^npx lonas export --model_name_or_path .* --subnet '\{"0":\d+.*\}' --output_dir .*\/export$/,
      );
      fs.mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: path.join(artifacts, 'dashboard.png'), fullPage: true });
    } finally {
      await browser.close();
    }
    expect(await finished).toBe(0);
  }, 300_000); // a real training run and search: generous on a busy machine, and every wait is on the page's data

  it('shows evaluation results newest first, the evaluation in progress and the per-epoch curves', async () => {
    const events = new Subject<LonasEvent>();
    const server = await LiveServer.start(events, { port: 0, run: { command: 'glue' } });
    const subnet = { 0: 32, 1: 768 };
    const result = (extra: Partial<EvaluationEvent>): EvaluationEvent => ({
      type: 'eval.result',
      subnet,
      metric: 'accuracy',
      value: 0.5,
      examples: 408,
      ...extra,
    });
    const progress = (done: number, extra: Partial<EvaluationProgressEvent> = {}): EvaluationProgressEvent => ({
      type: 'eval.progress',
      role: 'test',
      dataset: 'piqa',
      subnet,
      done,
      total: 1838,
      ...extra,
    });
    /** GLUE --do_eval after an epoch: the minimum subnet, then the super-network. */
    const epoch = (n: number) => [
      result({ role: 'minimum', epoch: n, value: 0.6 + n / 50 }),
      result({ role: 'super', epoch: n, value: 0.7 + n / 40 }),
    ];
    const browser = await launch();
    try {
      // Before the page opens: it draws these from the state, as a late joiner.
      for (const event of [...epoch(1), ...epoch(2), progress(100)]) events.next(event);
      const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
      await page.goto(`http://127.0.0.1:${server.port}/`);
      // Generous timeouts: each wait returns as soon as the page shows the events (it redraws a few
      // times a second), but Chromium on a loaded test machine can take seconds to start drawing.
      await page.waitForFunction('document.body.dataset.evaluations === "4"', undefined, { timeout: 30_000 });
      expect(await page.textContent('#evalProgress')).toContain('evaluating test piqa: 100 / 1838 examples (5%)');
      expect(await page.isVisible('#evalProgress')).toBe(true);
      expect(await page.getAttribute('body', 'data-eval-epochs')).toBe('4');
      // Then as they come: the third epoch, progress at a rate a search reaches, the test sets' results.
      for (const event of epoch(3)) events.next(event);
      for (let done = 101; done <= 900; done++) events.next(progress(done));
      events.next(progress(1838));
      events.next(result({ role: 'heuristic', split: 'piqa', value: 0.7655, examples: 1838 }));
      events.next(progress(500, { dataset: 'siqa', total: 1954 }));
      await page.waitForFunction('document.body.dataset.evaluations === "7"', undefined, { timeout: 30_000 });
      await page.waitForFunction('document.body.dataset.evalEpochs === "6"', undefined, { timeout: 30_000 });
      const cells = async (row: number) =>
        (await page.locator('#evalResults tr').nth(row).locator('td').allTextContents()).map((t) => t.trim());
      expect(await cells(0)).toEqual(['heuristic', 'piqa', '', 'accuracy', '0.7655', '1838', JSON.stringify(subnet)]);
      expect(await cells(1)).toEqual(['super', '', '3', 'accuracy', '0.7750', '408', JSON.stringify(subnet)]);
      expect(await cells(6)).toEqual(['minimum', '', '1', 'accuracy', '0.6200', '408', JSON.stringify(subnet)]);
      // piqa is through, so only siqa's bar shows.
      await page.waitForFunction('document.body.dataset.evalProgress === "1"', undefined, { timeout: 30_000 });
      expect(await page.locator('#evalProgress .progress').allTextContents()).toEqual([
        'evaluating test siqa: 500 / 1954 examples (25%)',
      ]);
      expect(await page.isVisible('#evalChartBox')).toBe(true);
      fs.mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: path.join(artifacts, 'dashboard-eval.png'), fullPage: true });
      // Once the last evaluation is through, the progress hides.
      events.next(progress(1954, { dataset: 'siqa', total: 1954 }));
      await page.waitForFunction('document.body.dataset.evalProgress === "0"', undefined, { timeout: 30_000 });
      expect(await page.isVisible('#evalProgress')).toBe(false);
      // The table keeps the newest 1,000 results.
      for (let i = 0; i < 1100; i++) events.next(result({ role: 'candidate', value: i / 1100 }));
      await page.waitForFunction('document.body.dataset.evaluations === "1107"', undefined, { timeout: 30_000 });
      expect(await page.locator('#evalResults tr').count()).toBe(1000);
      expect((await cells(0))[4]).toBe((1099 / 1100).toFixed(4));
    } finally {
      await browser.close();
      await server.close();
    }
  });

  it("shows a distributed search's queue, its warning while there is one, and who scored each candidate", async () => {
    const events = new Subject<LonasEvent>();
    const server = await LiveServer.start(events, { port: 0, run: { command: 'commonsense' } });
    const queue = (extra: Partial<SearchQueueEvent> = {}): SearchQueueEvent => ({
      type: 'search.queue',
      queue: 'lonas-eval',
      redis: 'redis://10.0.0.5:6379',
      waiting: 4,
      active: 0,
      workers: 0,
      ...extra,
    });
    const candidate = (evaluator: string): SearchCandidateEvent => ({
      type: 'search.candidate',
      generation: 0,
      subnet: { 0: 32 },
      macs: 12.5,
      accuracy: 0.5,
      cached: false,
      evaluator,
    });
    const browser = await launch();
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${server.port}/`);
      await page.waitForFunction('document.body.dataset.steps === "0"', undefined, { timeout: 30_000 });
      // A search without a queue shows neither the panel nor the evaluator column.
      expect(await page.isVisible('#queue')).toBe(false);
      expect(await page.isVisible('th.evaluator')).toBe(false);
      events.next(queue({ warning: 'no worker connected for 5s' }));
      await page.waitForFunction("document.getElementById('queueWarning').textContent !== ''", undefined, {
        timeout: 30_000,
      });
      expect(await page.textContent('#queueFigures')).toBe(
        'lonas-eval at redis://10.0.0.5:6379: 4 waiting, 0 active, 0 workers',
      );
      expect(await page.textContent('#queueWarning')).toBe('no worker connected for 5s');
      expect(await page.isVisible('#queueWarning')).toBe(true);
      // A worker joins and scores a candidate: the warning goes, the candidate says who scored it.
      events.next(queue({ waiting: 3, active: 1, workers: 1 }));
      events.next(candidate('host-1234'));
      await page.waitForFunction('document.body.dataset.candidates === "1"', undefined, { timeout: 30_000 });
      expect(await page.isVisible('#queueWarning')).toBe(false);
      expect(await page.textContent('#queueFigures')).toBe(
        'lonas-eval at redis://10.0.0.5:6379: 3 waiting, 1 active, 1 worker',
      );
      expect(await page.textContent('#candidates td.evaluator')).toBe('host-1234');
      expect(await page.isVisible('th.evaluator')).toBe(true);
      // A late joiner sees the same from the state.
      const late = await browser.newPage();
      await late.goto(`http://127.0.0.1:${server.port}/`);
      await late.waitForFunction('document.body.dataset.candidates === "1"', undefined, { timeout: 30_000 });
      expect(await late.textContent('#queueFigures')).toBe(await page.textContent('#queueFigures'));
      expect(await late.isVisible('#queueWarning')).toBe(false);
      expect(await late.textContent('#candidates td.evaluator')).toBe('host-1234');
    } finally {
      await browser.close();
      await server.close();
    }
  });
});
