import * as path from 'path';
import { main as customSampler } from '../examples/custom-sampler';
import { main as trainAndSearch } from '../examples/train-and-search';
import { makeTinyCheckpoints } from './support/tiny-checkpoints';

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

  it('custom-sampler: the plugged-in sampler alternates the heuristic subnet with uniform ones', async () => {
    const subnets = await customSampler(tiny.path('llama'), config);
    expect(subnets).toHaveLength(4);
    // Steps 1 and 3 train the heuristic subnet of the tiny config: v[(n-1)//2] of every group.
    const heuristic = { 0: 6, 1: 6, 2: 66, 3: 66, 4: 8, 5: 8 };
    expect(JSON.parse(subnets[0])).toEqual(heuristic);
    expect(JSON.parse(subnets[2])).toEqual(heuristic);
  });
});
