import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';

const run = promisify(execFile);
const root = path.join(__dirname, '..');
const lonas = path.join(root, 'bin', 'lonas.js');

/** The demo's config with a shorter schedule and search, for a run of about a minute. */
function smallerConfig(folder: string): string {
  const config = JSON.parse(fs.readFileSync(path.join(root, 'configs', 'demo-commonsense.json'), 'utf8'));
  config.bootstrapNAS.search.num_evals = 20;
  const file = path.join(folder, 'demo-small.json');
  fs.writeFileSync(file, JSON.stringify(config));
  return file;
}

interface FrontPoint {
  macs: number;
  accuracy: number;
}

describe('lonas demo (npm start), at a smaller size', () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'lonas-demo-'));
  const output = path.join(folder, 'out');
  afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));
  let stderr = '';

  beforeAll(async () => {
    ({ stderr } = await run(
      process.execPath,
      [lonas, 'demo', '--output_dir', output, '--nncf_config', smallerConfig(folder), '--max_test_samples', '100'],
      { maxBuffer: 64 * 1024 * 1024 },
    ));
  }, 600_000);

  it('serves the live dashboard while it runs', () => {
    expect(stderr).toMatch(/lonas: live at ws:\/\/127\.0\.0\.1:\d+; dashboard at http:\/\/127\.0\.0\.1:\d+\//);
  });

  it('writes every output of lonas commonsense', () => {
    for (const file of [
      'adapter_model.safetensors',
      'adapter_config.json',
      'test_results.json',
      'heuristic.compare.res.json',
      'heuristic.choose.res.json',
      'search_progression.csv',
      'cache_MACs.csv',
      'cache_top1_acc.csv',
      'search_progression.svg',
      'best_subnet.json',
      'search_summary.json',
      'events.jsonl',
    ]) {
      expect(fs.existsSync(path.join(output, file))).toBe(true);
    }
    const png = fs.readFileSync(path.join(output, 'search_progression.png'));
    expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
  });

  it('scores the heuristic subnet clearly above chance (0.5) on both test sets', () => {
    const results = JSON.parse(fs.readFileSync(path.join(output, 'test_results.json'), 'utf8'));
    expect(results.Heuristic_compare_accuracy).toBeGreaterThanOrEqual(0.7);
    expect(results.Heuristic_choose_accuracy).toBeGreaterThanOrEqual(0.7);
  });

  it('finds a front of non-dominated subnets that spans the MACs range, and prints it', () => {
    const summary = JSON.parse(fs.readFileSync(path.join(output, 'search_summary.json'), 'utf8'));
    const front = summary.pareto_front as FrontPoint[];
    const dominates = (a: FrontPoint, b: FrontPoint) =>
      a.macs <= b.macs && a.accuracy >= b.accuracy && (a.macs < b.macs || a.accuracy > b.accuracy);
    for (const a of front) for (const b of front) expect(dominates(a, b)).toBe(false);
    expect(front.length).toBeGreaterThanOrEqual(3);
    const macs = front.map((p) => p.macs);
    expect((Math.max(...macs) - Math.min(...macs)) / summary.maximal.macs).toBeGreaterThan(0.1);
    expect(stderr).toContain(`Pareto front (${front.length} subnets):`);
  });
});
