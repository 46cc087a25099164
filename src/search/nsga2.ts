import { SeededRandom } from '../util/seeded-random';
import { dominates, nonDominatedFronts } from './pareto';
import { geneKey, spaceSize, type SearchStrategy, type StrategySettings } from './strategy';

/** A source of uniform draws in [0, 1), taken in the order numpy's `np.random.random` would be. */
export interface UniformSource {
  uniform(): number;
}

/** numpy's around: halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** pymoo's RoundingRepair: `np.around(X).astype(int)`. */
export function roundingRepair(x: number[][]): number[][] {
  return x.map((row) => row.map(roundHalfEven));
}

export interface SbxParameters {
  /** Probability that a mating crosses at all (pymoo's `prob`). */
  prob: number;
  eta: number;
  /** Per-variable crossover probability. */
  probVar?: number;
  /** Probability that a mating may exchange children's values at all (0.5 in pymoo 0.6.0.1). */
  probExch?: number;
  /** Per-variable exchange probability within an exchanging mating. */
  probBin?: number;
}

/**
 * pymoo 0.6.0.1's `SBX(prob, eta)` through `Crossover.do` on float genes with lower bound 0, two
 * parents and two offspring per mating, drawing in numpy's order: one draw per mating for
 * crossing; then, if any mating crosses, one per mating for `prob_exch`, one per (mating, variable)
 * for `prob_var` (row-major), one per crossed variable for the spread (shared by both children's
 * betaq) and one per crossed variable for the exchange. Returns pymoo's layout: the first children
 * of every mating, then the second children. Not rounded: the caller applies the repair.
 */
export function sbxCrossover(
  parents: Array<[number[], number[]]>,
  upper: number[],
  parameters: SbxParameters,
  random: UniformSource,
): number[][] {
  const { prob, eta } = parameters;
  const probVar = parameters.probVar ?? 0.5;
  const probExch = parameters.probExch ?? 0.5;
  const probBin = parameters.probBin ?? 0.5;
  const nMatings = parents.length;
  const nVar = upper.length;
  const crossMating = parents.map(() => random.uniform() < prob);
  const first = parents.map(([a]) => [...a]);
  const second = parents.map(([, b]) => [...b]);
  if (crossMating.some((c) => c)) {
    const matingProbBin = parents.map(() => (random.uniform() > probExch ? 0 : probBin));
    // Which (mating, variable) cells cross, row-major, as numpy's boolean mask indexing visits them.
    const cells: Array<[number, number]> = [];
    for (let k = 0; k < nMatings; k++) {
      for (let i = 0; i < nVar; i++) {
        const crossVar = random.uniform() < probVar;
        const tooClose = Math.abs(parents[k][0][i] - parents[k][1][i]) <= 1e-14;
        if (crossVar && !tooClose && upper[i] !== 0) cells.push([k, i]);
      }
    }
    const spread = cells.map(() => random.uniform());
    const betaq = (beta: number, rand: number) => {
      const alpha = 2 - beta ** -(eta + 1);
      return rand <= 1 / alpha ? (rand * alpha) ** (1 / (eta + 1)) : (1 / (2 - rand * alpha)) ** (1 / (eta + 1));
    };
    const children = cells.map(([k, i], c) => {
      const y1 = Math.min(parents[k][0][i], parents[k][1][i]);
      const y2 = Math.max(parents[k][0][i], parents[k][1][i]);
      const delta = y2 - y1;
      const c1 = 0.5 * (y1 + y2 - betaq(1 + (2 * (y1 - 0)) / delta, spread[c]) * delta);
      const c2 = 0.5 * (y1 + y2 + betaq(1 + (2 * (upper[i] - y2)) / delta, spread[c]) * delta);
      return [c1, c2];
    });
    cells.forEach(([k], c) => {
      if (random.uniform() < matingProbBin[k]) children[c].reverse();
    });
    // pymoo computes every mating's children but keeps them only where the mating crosses.
    cells.forEach(([k, i], c) => {
      if (!crossMating[k]) return;
      first[k][i] = Math.min(upper[i], Math.max(0, children[c][0]));
      second[k][i] = Math.min(upper[i], Math.max(0, children[c][1]));
    });
  }
  return [...first, ...second];
}

export interface PmParameters {
  /** Probability that an individual is mutated (pymoo's `prob`). */
  prob: number;
  eta: number;
}

/**
 * pymoo 0.6.0.1's `PM(prob, eta)` through `Mutation.do` on float genes with lower bound 0,
 * drawing in numpy's order: one per (individual, variable) against min(0.5, 1 / n_var)
 * (row-major), one per selected variable for the perturbation, then one per individual against
 * `prob` (`<=`) deciding whether the mutated vector replaces it. Not rounded.
 */
export function polynomialMutation(
  x: number[][],
  upper: number[],
  parameters: PmParameters,
  random: UniformSource,
): number[][] {
  const nVar = upper.length;
  const probVar = Math.min(0.5, 1 / nVar);
  const cells: Array<[number, number]> = [];
  x.forEach((_, n) => {
    for (let i = 0; i < nVar; i++) if (random.uniform() < probVar && upper[i] !== 0) cells.push([n, i]);
  });
  const mutated = x.map((row) => [...row]);
  const power = 1 / (parameters.eta + 1);
  for (const [n, i] of cells) {
    const value = x[n][i];
    const span = upper[i];
    const delta1 = (value - 0) / span;
    const delta2 = (span - value) / span;
    const rand = random.uniform();
    const deltaq =
      rand <= 0.5
        ? (2 * rand + (1 - 2 * rand) * (1 - delta1) ** (parameters.eta + 1)) ** power - 1
        : 1 - (2 * (1 - rand) + 2 * (rand - 0.5) * (1 - delta2) ** (parameters.eta + 1)) ** power;
    mutated[n][i] = Math.min(span, Math.max(0, value + deltaq * span));
  }
  return x.map((row, n) => (random.uniform() <= parameters.prob ? mutated[n] : [...row]));
}

/**
 * NNCF's mating operators on a batch of parent pairs, as pymoo 0.6.0.1 runs them:
 * `SBX(prob, eta, vtype=float, repair=RoundingRepair())` then
 * `PM(prob, eta, vtype=float, repair=RoundingRepair())`, so genes are rounded (half to even)
 * after crossover and again after mutation.
 */
export function mateIntegers(
  parents: Array<[number[], number[]]>,
  upper: number[],
  crossover: SbxParameters,
  mutation: PmParameters,
  random: UniformSource,
): number[][] {
  const crossed = roundingRepair(sbxCrossover(parents, upper, crossover, random));
  return roundingRepair(polynomialMutation(crossed, upper, mutation, random));
}

/** pymoo's find_duplicates: a row is a duplicate when its Euclidean distance to an earlier row is <= epsilon. */
function findDuplicates(f: number[][], epsilon: number): boolean[] {
  return f.map((row, i) => {
    for (let j = 0; j < i; j++) {
      let sum = 0;
      for (let k = 0; k < row.length; k++) sum += (row[k] - f[j][k]) ** 2;
      if (Math.sqrt(sum) <= epsilon) return true;
    }
    return false;
  });
}

/** numpy's ascending order with NaN last. */
const ascending = (a: number, b: number) =>
  Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : Number.isNaN(b) ? -1 : a - b;

/**
 * pymoo 0.6.0.1's `calc_crowding_distance(F, filter_out_duplicates=True)` (NSGA-II's
 * RankAndCrowdingSurvival): fronts of <= 2 points are all infinite; otherwise duplicates
 * (distance <= 1e-32 to an earlier point) get 0 and the distance is taken over the unique points
 * only: per objective a stable (mergesort) order, gaps to the neighbours (infinite beyond the ends)
 * divided by max - min (a zero span gives NaN, and NaN counts 0), summed over both sides and
 * objectives, divided by the number of objectives.
 */
export function crowdingDistance(f: number[][]): number[] {
  const nPoints = f.length;
  if (nPoints <= 2) return new Array(nPoints).fill(Infinity);
  const nObj = f[0].length;
  const duplicate = findDuplicates(f, 1e-32);
  const unique = f.map((_, i) => i).filter((i) => !duplicate[i]);
  const distance = new Array(nPoints).fill(0);
  const sums = new Array(unique.length).fill(0);
  for (let k = 0; k < nObj; k++) {
    // Array.prototype.sort is stable, like mergesort.
    const order = unique.map((_, u) => u).sort((a, b) => ascending(f[unique[a]][k], f[unique[b]][k]));
    const sorted = order.map((u) => f[unique[u]][k]);
    let norm = Math.max(...sorted) - Math.min(...sorted);
    if (norm === 0 || Number.isNaN(norm)) norm = NaN;
    const scaled = (gap: number) => {
      const value = gap / norm;
      return Number.isNaN(value) ? 0 : value;
    };
    order.forEach((u, s) => {
      const toLast = s === 0 ? Infinity : sorted[s] - sorted[s - 1];
      const toNext = s === sorted.length - 1 ? Infinity : sorted[s + 1] - sorted[s];
      sums[u] += scaled(toLast) + scaled(toNext);
    });
  }
  unique.forEach((i, u) => {
    distance[i] = sums[u] / nObj;
  });
  return distance;
}

interface Member {
  genes: number[];
  objectives: number[];
  rank: number;
  crowding: number;
}

/**
 * NSGA-II as pymoo 0.6.0.1 runs it for NNCF's search: integer genes sampled uniformly; offspring
 * made in batches of ceil(remaining / 2) matings whose parents win binary tournaments over
 * concatenated random permutations (domination, then crowding, then a coin flip); SBX crossover
 * (pair probability 0.9, eta 10, per-variable 0.5, exchange 0.5 per mating, then 0.5 per variable)
 * rounded, then polynomial mutation (individual probability 0.02, eta 3, per-variable
 * min(0.5, 1 / n)) rounded again; duplicates eliminated within the batch, against the population
 * and against the offspring so far, for at most 100 batches; rank-and-crowding survival whose
 * split front is cut by crowding distance (duplicates 0) with ties broken at random.
 */
export class Nsga2 implements SearchStrategy {
  private readonly random: SeededRandom;
  private population: Member[] = [];
  private readonly upper: number[];

  constructor(private readonly settings: StrategySettings) {
    this.random = new SeededRandom(settings.seed);
    this.upper = settings.choices.map((c) => c - 1);
  }

  private randomGenes(): number[] {
    return this.upper.map((u) => this.random.below(u + 1));
  }

  ask(): number[][] {
    const seen = new Set(this.population.map((m) => geneKey(m.genes)));
    const wanted = Math.min(this.settings.population, spaceSize(this.settings.choices) - seen.size);
    const offspring: number[][] = [];
    const take = (batch: number[][]) => {
      for (const genes of batch) {
        const key = geneKey(genes);
        if (seen.has(key) || offspring.length >= wanted) continue;
        seen.add(key);
        offspring.push(genes);
      }
    };
    if (this.population.length === 0) {
      for (let attempt = 0; offspring.length < wanted && attempt < 100 * this.settings.population; attempt++) {
        take([this.randomGenes()]);
      }
      return offspring;
    }
    // pymoo's InfillCriterion: mate for the remaining count, drop duplicates, at most 100 rounds.
    for (let round = 0; offspring.length < wanted && round < 100; round++) {
      take(this.mate(wanted - offspring.length));
    }
    return offspring;
  }

  tell(genes: number[][], objectives: number[][]): void {
    const merged = [
      ...this.population.map((m) => ({ genes: m.genes, objectives: m.objectives })),
      ...genes.map((g, i) => ({ genes: g, objectives: objectives[i] })),
    ];
    const nSurvive = Math.min(this.settings.population, merged.length);
    const survivors: Member[] = [];
    for (const [rank, front] of nonDominatedFronts(merged.map((m) => m.objectives)).entries()) {
      if (survivors.length >= nSurvive) break;
      const crowding = crowdingDistance(front.map((i) => merged[i].objectives));
      const chosen =
        survivors.length + front.length > nSurvive
          ? this.randomizedDescending(crowding).slice(0, nSurvive - survivors.length)
          : front.map((_, j) => j);
      for (const j of chosen) survivors.push({ ...merged[front[j]], rank, crowding: crowding[j] });
    }
    this.population = survivors;
  }

  /** A random permutation of 0..n-1 (Fisher-Yates). */
  private permutation(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.random.below(i + 1);
      [p[i], p[j]] = [p[j], p[i]];
    }
    return p;
  }

  /** pymoo's randomized_argsort(order='descending'): shuffle, sort ascending, flip; ties fall at random. */
  private randomizedDescending(values: number[]): number[] {
    const shuffled = this.permutation(values.length);
    return shuffled.sort((a, b) => ascending(values[a], values[b])).reverse();
  }

  /** Binary tournament: the dominating member, else the less crowded one, else a coin flip. */
  private tournament(a: Member, b: Member): Member {
    if (dominates(a.objectives, b.objectives)) return a;
    if (dominates(b.objectives, a.objectives)) return b;
    if (a.crowding !== b.crowding) return a.crowding > b.crowding ? a : b;
    return this.random.uniform() < 0.5 ? a : b;
  }

  /** One pymoo mating round: ceil(remaining / 2) matings, 2 children each, in pymoo's order. */
  private mate(remaining: number): number[][] {
    const matings = Math.ceil(remaining / 2);
    // TournamentSelection: 4 contestants per mating from concatenated permutations of the population.
    const contestants: number[] = [];
    while (contestants.length < matings * 4) contestants.push(...this.permutation(this.population.length));
    const winners = Array.from({ length: matings * 2 }, (_, t) =>
      this.tournament(this.population[contestants[2 * t]], this.population[contestants[2 * t + 1]]),
    );
    const parents = Array.from(
      { length: matings },
      (_, k) => [winners[2 * k].genes, winners[2 * k + 1].genes] as [number[], number[]],
    );
    return mateIntegers(
      parents,
      this.upper,
      { prob: this.settings.crossoverProbability ?? 0.9, eta: this.settings.crossoverEta ?? 10 },
      { prob: this.settings.mutationProbability ?? 0.02, eta: this.settings.mutationEta ?? 3 },
      this.random,
    );
  }
}
