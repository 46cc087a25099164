import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { chromium } from 'playwright-core';
import { makeTinyCheckpoints } from '../support/tiny-checkpoints';
import { SENTENCES } from '../support/training';

/** Debian's Chromium (.ci/run installs it where missing). */
const CHROMIUM = '/usr/bin/chromium';
const lonas = path.join(__dirname, '..', '..', 'bin', 'lonas.js');
const artifacts = path.join(__dirname, '..', '..', 'test-artifacts');
const describeWithChromium = fs.existsSync(CHROMIUM) ? describe : describe.skip;

describeWithChromium('the live dashboard in headless Chromium', () => {
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
    const browser = await chromium.launch({
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
  });
});
