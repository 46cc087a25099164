import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { inProcessPool } from '../../actors/evaluators/evaluator-pool';
import { search, type SearchInput } from '../../actors/search';
import { strategyNamed } from '../../actors/strategies/registry';
import { SearchSpace, type SubnetConfig } from '../../src/nas/search-space';
import type { SearchStrategy } from '../../src/search/strategy';
import type { LonasEvent } from '../../src/events';
import { hypervolume2d } from '../../src/search/hypervolume';
import { nonDominatedFronts } from '../../src/search/pareto';

/**
 * ZDT1 on integer genes: 10 genes of 11 levels (x = index / 10). Its Pareto front is x2..x10 = 0,
 * f2 = 1 - sqrt(f1), so the optimal hypervolume of the 11 reachable front points is known.
 */
const GENES = 10;
const LEVELS = 11;
const space = new SearchSpace(
  Array.from({ length: GENES }, (_, i) => ({
    kind: 'width' as const,
    modules: [`m${i}`],
    widths: Array.from({ length: LEVELS }, (_, l) => LEVELS - l),
  })),
);
const xOf = (subnet: SubnetConfig) => space.groups.map((g, i) => g.widths.indexOf(subnet[i]) / (LEVELS - 1));
const zdt1 = (x: number[]) => {
  const g = 1 + (9 * x.slice(1).reduce((a, b) => a + b, 0)) / (GENES - 1);
  return [x[0], g * (1 - Math.sqrt(x[0] / g))];
};
// Objectives as the search sees them: MACs = f1, accuracy = 1.1 - f2, so (MACs, -accuracy) against (1.1, 0) is ZDT1 against (1.1, 1.1).
const optimal = hypervolume2d(
  Array.from({ length: LEVELS }, (_, l) => zdt1([l / (LEVELS - 1), ...new Array(GENES - 1).fill(0)])),
  [1.1, 1.1],
);

function problem(algorithm: string, outputDir: string, numEvals: number, population: number, seed = 0): SearchInput {
  return {
    space,
    strategy: strategyNamed(algorithm)({ choices: space.groups.map((g) => g.widths.length), population, seed, space }),
    algorithm,
    numEvals,
    population,
    macs: (subnet) => zdt1(xOf(subnet))[0],
    evaluators: inProcessPool(async (subnet) => 1.1 - zdt1(xOf(subnet))[1]),
    refAcc: 0.45,
    accDelta: 0.01,
    hypervolumeReference: [1.1, 0],
    outputDir,
  };
}

describe('search strategies on an analytic problem', () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'lonas-search-'));
  afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

  it('NSGA-II reaches at least 95% of the optimal hypervolume in 1500 evaluations; random search does not', async () => {
    const nsga2 = await search(problem('NSGA2', path.join(folder, 'nsga2'), 1500, 50));
    const random = await search(problem('random', path.join(folder, 'random'), 1500, 50));
    const share = (result: { hypervolumes: number[] }) => result.hypervolumes[result.hypervolumes.length - 1] / optimal;
    expect(share(nsga2)).toBeGreaterThanOrEqual(0.95);
    expect(share(random)).toBeLessThan(share(nsga2));
    expect(share(random)).toBeLessThan(0.5);
    // The hypervolume never falls from one generation to the next.
    expect(nsga2.hypervolumes.every((h, i) => i === 0 || h >= nsga2.hypervolumes[i - 1])).toBe(true);
    expect(nsga2.evaluated).toBe(1500);
  });

  it("writes NNCF's files: progression CSV, caches, plot, best subnet, summary", async () => {
    const out = path.join(folder, 'files');
    const result = await search(problem('NSGA2', out, 40, 8));
    const progression = fs.readFileSync(path.join(out, 'search_progression.csv'), 'utf8').trim().split('\n');
    expect(progression).toHaveLength(40);
    expect(progression[0]).toMatch(
      /^"OrderedDict\(\[\(<ElasticityDim\.WIDTH: 'width'>, \{0: \d+, 1: \d+, .*\}\)\]\)",MACs,[\d.e-]+,top1_acc,-?[\d.e-]+$/,
    );
    const cache = fs.readFileSync(path.join(out, 'cache_MACs.csv'), 'utf8').trim().split('\n');
    expect(cache[0]).toMatch(/^"\(\d+(, \d+){9}\)",[\d.e-]+$/);
    expect(fs.readFileSync(path.join(out, 'search_progression.png')).subarray(1, 4).toString()).toBe('PNG');
    const best = JSON.parse(fs.readFileSync(path.join(out, 'best_subnet.json'), 'utf8'));
    expect(best.groups).toHaveLength(GENES);
    // NNCF's rule: the cheapest subnet above ref_acc - acc_delta, else the max subnet.
    const rows = progression.map((line) => line.split(',').slice(-4));
    const qualifying = rows.filter(([, , , acc]) => -Number(acc) > 0.44).map(([, macs]) => Number(macs));
    if (qualifying.length > 0) {
      expect(result.meetsReference).toBe(true);
      expect(best.macs).toBe(Math.min(...qualifying));
    } else {
      expect(result.meetsReference).toBe(false);
      expect(best.subnet).toEqual(Object.fromEntries(Object.entries(space.maximal()).map(([k, v]) => [k, v])));
    }
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'search_summary.json'), 'utf8'));
    expect(summary.hypervolume_per_generation).toHaveLength(5);
    expect(summary.pareto_front.length).toBeGreaterThan(0);
  });

  it('resumes from its cache without re-evaluating finished candidates', async () => {
    const out = path.join(folder, 'resume');
    let calls = 0;
    const interrupted = problem('NSGA2', out, 48, 8, 3);
    interrupted.evaluators = inProcessPool(async (subnet) => {
      if (++calls > 20) throw new Error('interrupted');
      return 1.1 - zdt1(xOf(subnet))[1];
    });
    await expect(search(interrupted)).rejects.toThrow('interrupted');
    const resumed = await search(problem('NSGA2', out, 48, 8, 3));
    const uninterrupted = await search(problem('NSGA2', path.join(folder, 'whole'), 48, 8, 3));
    // 20 were cached before the interruption (the max subnet among them).
    expect(resumed.computed).toBe(uninterrupted.computed - 20);
    expect(resumed.front).toEqual(uninterrupted.front);
    expect((await search(problem('NSGA2', out, 48, 8, 3))).computed).toBe(0);
  });

  it('discards caches of a search on other inputs, and reuses those of the same', async () => {
    const out = path.join(folder, 'identity');
    const events: LonasEvent[] = [];
    const withIdentity = (adapter: string) => ({
      ...problem('NSGA2', out, 16, 4, 3),
      identity: { adapter, 'search space': 'zdt1' },
      events: { next: (event: LonasEvent) => events.push(event) },
    });
    const first = await search(withIdentity('a'));
    expect((await search(withIdentity('a'))).computed).toBe(0);
    const retrained = await search(withIdentity('b'));
    expect(retrained.computed).toBe(first.computed);
    const starts = events.filter((e): e is Extract<LonasEvent, { type: 'search.start' }> => e.type === 'search.start');
    expect(starts.map((e) => e.cached)).toEqual([0, first.computed, 0]);
    expect(starts[2].discarded).toBe('cache_MACs.csv, cache_top1_acc.csv came from a search with another adapter');
    // Caches of unknown origin (no identity recorded beside them) are not trusted either.
    fs.rmSync(path.join(out, 'search_identity.json'));
    expect((await search(withIdentity('b'))).computed).toBe(first.computed);
  });

  it('continues a strategy from its saved state, not from a replay, when the strategy saves one', async () => {
    /** Walks the genes from `start`; a fresh instance would start elsewhere, so only its saved state resumes it. */
    const walker = (start: number): SearchStrategy & { position: number } => ({
      position: start,
      ask() {
        return Array.from({ length: 4 }, () => {
          this.position += 1;
          return space.groups.map((g, i) => (this.position + i) % g.widths.length);
        });
      },
      tell() {},
      saveState() {
        return { position: this.position };
      },
      restoreState(state) {
        this.position = (state as { position: number }).position;
      },
    });
    const run = (out: string, start: number, limit = Infinity) => {
      let calls = 0;
      return search({
        ...problem('NSGA2', out, 24, 4),
        strategy: walker(start),
        evaluators: inProcessPool(async (subnet) => {
          if (++calls > limit) throw new Error('interrupted');
          return 1.1 - zdt1(xOf(subnet))[1];
        }),
      });
    };
    const whole = await run(path.join(folder, 'walk-whole'), 0);
    const out = path.join(folder, 'walk-stopped');
    await expect(run(out, 0, 10)).rejects.toThrow('interrupted');
    const resumed = await run(out, 1000);
    expect(resumed.front).toEqual(whole.front);
    expect(fs.readFileSync(path.join(out, 'search_progression.csv'), 'utf8')).toEqual(
      fs.readFileSync(path.join(folder, 'walk-whole', 'search_progression.csv'), 'utf8'),
    );
  });
});

describe('Pareto tools', () => {
  it('sorts fronts and measures hypervolume', () => {
    const points = [
      [1, 5],
      [2, 3],
      [3, 4],
      [4, 1],
      [5, 5],
    ];
    expect(nonDominatedFronts(points)).toEqual([[0, 1, 3], [2], [4]]);
    // Rectangles against (6, 6): (6-1)(6-5) + (6-2)(5-3) + (6-4)(3-1) = 5 + 8 + 4.
    expect(hypervolume2d(points, [6, 6])).toBe(17);
  });

  it('names an unknown search algorithm', () => {
    expect(() => strategyNamed('CMA-ES')).toThrow(
      "lonas: bootstrapNAS.search.algorithm 'CMA-ES' is not a search algorithm (known: NSGA2, random, local)",
    );
  });
});
