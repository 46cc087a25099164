import {
  crowdingDistance,
  mateIntegers,
  Nsga2,
  polynomialMutation,
  roundingRepair,
  sbxCrossover,
  type UniformSource,
} from '../../src/search/nsga2';
import { SeededRandom } from '../../src/util/seeded-random';
import reference from './fixtures/pymoo-0.6.0.1-reference.json';

/**
 * Fixed numbers from pymoo 0.6.0.1 itself (tools/reference/pymoo_reference.py, which runs pymoo's
 * SBX/PM/RoundingRepair and calc_crowding_distance and records every np.random.random draw).
 */

/** Replays pymoo's recorded draws, and says how many were taken. */
class Replay implements UniformSource {
  taken = 0;
  constructor(private readonly draws: number[]) {}
  uniform(): number {
    if (this.taken >= this.draws.length) throw new Error('more draws than pymoo made');
    return this.draws[this.taken++];
  }
}

const fromJson = (values: Array<number | string>) => values.map((v) => (v === 'inf' ? Infinity : (v as number)));
const upper = reference.upper;
const parents = reference.parents.map(([a, b]) => [reference.X[a], reference.X[b]] as [number[], number[]]);
const isIntegerIn = (genes: number[]) => genes.every((g, i) => Number.isInteger(g) && g >= 0 && g <= upper[i]);

function expectClose(actual: number[][], expected: number[][]) {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((row, n) => row.forEach((v, i) => expect(v).toBeCloseTo(expected[n][i], 12)));
}

describe("crowding distance as pymoo 0.6.0.1's NSGA-II survival computes it", () => {
  it.each(reference.crowding.map((c) => [c.name, c.F, fromJson(c.crowding)] as const))('%s', (_name, f, expected) => {
    expect(crowdingDistance(f)).toEqual(expected);
  });

  it('gives repeated objective vectors 0 and measures the first occurrences over the unique points only', () => {
    const front = [
      [1, 5],
      [2, 3],
      [2, 3],
      [4, 1],
      [3, 2],
      [2, 3],
    ];
    // Unique points (1,5) (2,3) (4,1) (3,2): f1 spans 3, f2 spans 4; the mean over the 2 objectives.
    expect(crowdingDistance(front)).toEqual([
      Infinity,
      ((3 - 1) / 3 + (5 - 2) / 4) / 2,
      0,
      Infinity,
      ((4 - 2) / 3 + (3 - 1) / 4) / 2,
      0,
    ]);
  });

  it('keeps the stable (mergesort) order among ties, so only the first tied point is a boundary', () => {
    // f2 ties at 1 between points 3 and 5: the earlier one (3) is the boundary.
    const d = crowdingDistance([
      [1, 4],
      [2, 4],
      [2, 3],
      [3, 1],
      [2, 2],
      [4, 1],
    ]);
    expect(d[3]).toBe(Infinity);
    expect(d[5]).toBe(Infinity); // boundary through f1 instead
    expect(d[4]).toBe(0.5);
  });
});

describe("NNCF's operators as pymoo 0.6.0.1 runs them, on pymoo's own random draws", () => {
  it.each(reference.operators.map((o) => [o.seed, o] as const))('seed %i', (_seed, o) => {
    // Floats throughout (no repair): SBX then PM.
    let random = new Replay(o.floats.draws);
    const crossedFloats = sbxCrossover(parents, upper, o.sbx, random);
    expect(random.taken).toBe(o.floats.crossoverDraws);
    expectClose(crossedFloats, o.floats.crossed);
    expectClose(polynomialMutation(crossedFloats, upper, o.pm, random), o.floats.mutated);
    expect(random.taken).toBe(o.floats.draws.length);

    // SBX rounded, then PM's floats on the rounded children.
    random = new Replay(o.crossRounded.draws);
    const crossed = roundingRepair(sbxCrossover(parents, upper, o.sbx, random));
    expect(crossed).toEqual(o.crossRounded.crossed);
    expectClose(polynomialMutation(crossed, upper, o.pm, random), o.crossRounded.mutated);

    // NNCF: rounded after both.
    random = new Replay(o.nncf.draws);
    expect(mateIntegers(parents, upper, o.sbx, o.pm, random)).toEqual(o.nncf.mutated);
    expect(random.taken).toBe(o.nncf.draws.length);
  });

  it('rounds between crossover and mutation: rounding only at the end gives another child for seed 7', () => {
    const o = reference.operators.find((x) => x.seed === 7)!;
    expect(roundingRepair(o.floats.mutated)).not.toEqual(o.nncf.mutated);
    expect(mateIntegers(parents, upper, o.sbx, o.pm, new Replay(o.nncf.draws))).toEqual(o.nncf.mutated);
  });
});

describe('integer genes', () => {
  it('are integers in range after crossover and again after mutation', () => {
    const settings = { sbx: { prob: 1, eta: 10 }, pm: { prob: 1, eta: 3 } };
    for (let seed = 0; seed < 200; seed++) {
      const random = new SeededRandom(seed);
      const pairs = Array.from(
        { length: 4 },
        () => [0, 1].map(() => upper.map((u) => random.below(u + 1))) as [number[], number[]],
      );
      const before = random.state;
      const crossed = roundingRepair(sbxCrossover(pairs, upper, settings.sbx, random));
      expect(crossed.every(isIntegerIn)).toBe(true);
      const mutated = roundingRepair(polynomialMutation(crossed, upper, settings.pm, random));
      expect(mutated.every(isIntegerIn)).toBe(true);
      // mateIntegers is exactly these two rounded steps on the same draws.
      random.state = before;
      expect(mateIntegers(pairs, upper, settings.sbx, settings.pm, random)).toEqual(mutated);
    }
  });

  it("the strategy's offspring are new integer genes in range", () => {
    const choices = upper.map((u) => u + 1);
    const nsga2 = new Nsga2({ choices, population: 12, seed: 3, crossoverProbability: 1, mutationProbability: 1 });
    for (let generation = 0; generation < 15; generation++) {
      // pymoo's duplicate elimination: against the current population and the batch itself.
      const seen = new Set(
        (nsga2 as unknown as { population: Array<{ genes: number[] }> }).population.map((m) => m.genes.join()),
      );
      const asked = nsga2.ask();
      expect(asked).toHaveLength(12);
      for (const genes of asked) {
        expect(isIntegerIn(genes)).toBe(true);
        expect(seen.has(genes.join())).toBe(false);
        seen.add(genes.join());
      }
      nsga2.tell(
        asked,
        asked.map((g) => [g.reduce((a, b) => a + b, 0), -g[0] * g[3]]),
      );
    }
  });
});

describe('rank-and-crowding survival', () => {
  it('drops repeated objective vectors (crowding 0) first when a front is cut', () => {
    const nsga2 = new Nsga2({ choices: [10, 10], population: 4, seed: 1 });
    const population = () =>
      (nsga2 as unknown as { population: Array<{ genes: number[]; crowding: number }> }).population;
    nsga2.tell(
      [
        [0, 0],
        [1, 1],
        [2, 2],
        [3, 3],
      ],
      [
        [0, 3],
        [1, 2],
        [1, 2],
        [3, 0],
      ],
    );
    expect(population().map((m) => m.crowding)).toEqual([Infinity, 1, 0, Infinity]);
    nsga2.tell(
      [
        [4, 4],
        [5, 5],
      ],
      [
        [2, 1],
        [1, 2],
      ],
    );
    // One front of 6: (0,3) (1,2) x3 (3,0) (2,1); the two later copies of (1,2) are 0, so they go.
    const kept = population().map((m) => m.genes.join());
    expect(kept.sort()).toEqual(['0,0', '1,1', '3,3', '4,4']);
  });
});
