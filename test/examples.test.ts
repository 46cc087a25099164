import * as path from 'path';
import * as fs from 'fs';
import { main as pluginExperiment } from '../examples/plugin-experiment';
import { main as trainAndSearch } from '../examples/train-and-search';
import { makeTinyCheckpoints } from './support/tiny-checkpoints';
import { evenRecords } from './support/training';

const config = path.join(__dirname, '..', 'configs', 'tiny', 'llama.json');

describe('the examples run at a tiny size', () => {
  const tiny = makeTinyCheckpoints();
  afterAll(() => tiny.remove());
  let log: jest.SpyInstance;
  beforeEach(() => (log = jest.spyOn(console, 'log').mockImplementation(() => undefined)));
  afterEach(() => log.mockRestore());

  it.each(['NSGA2', 'local'])('train-and-search with the %s strategy', async (strategy) => {
    const result = await trainAndSearch(tiny.path('llama'), config, strategy);
    expect(result.evaluated).toBe(12);
    expect(result.front.length).toBeGreaterThan(0);
    expect(log.mock.calls.map((c) => String(c[0]))).toEqual(
      expect.arrayContaining([expect.stringMatching(/^epoch 2: mean loss/)]),
    );
  });

  it('plugin-experiment: a strategy and a sampler as objects, an inline config, train -> test -> search through runExperiment', async () => {
    const records = evenRecords(12);
    const train = path.join(tiny.folder, 'plugin-train.json');
    fs.writeFileSync(train, JSON.stringify(records));
    const datasets = path.join(tiny.folder, 'plugin-datasets');
    fs.mkdirSync(path.join(datasets, 'boolq'), { recursive: true });
    fs.writeFileSync(path.join(datasets, 'boolq', 'test.json'), JSON.stringify(records.slice(0, 2)));
    const out = path.join(tiny.folder, 'plugin-run');
    const { outcome, sampled, log: lines } = await pluginExperiment(tiny.path('llama'), config, train, datasets, out);
    expect(outcome.status).toBe('done');
    expect(outcome.results.search?.evaluated).toBeGreaterThan(0);
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'search_summary.json'), 'utf8'));
    expect(summary.algorithm).toBe('front-mutation');
    // 8 training records, batch 2, 2 epochs; the sampler repeats its hardest subnet at times.
    expect(sampled).toHaveLength(8);
    expect(new Set(sampled).size).toBeLessThan(sampled.length);
    expect(lines).toEqual(
      expect.arrayContaining([
        'epoch 2: mean loss ' + lines[1].split(' ').pop(),
        'generation 2: front of ' + lines.at(-1)?.split(' ').pop(),
      ]),
    );
  });
});
