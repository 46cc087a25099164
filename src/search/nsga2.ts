import { SeededRandom } from '../util/seeded-random';
import { crowdingDistances, dominates, nonDominatedFronts } from './pareto';
import { geneKey, spaceSize, type SearchStrategy, type StrategySettings } from './strategy';

/** numpy's around: halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

interface Member {
  genes: number[];
  objectives: number[];
  rank: number;
  crowding: number;
}

/**
 * NSGA-II as pymoo 0.6 runs it for NNCF's search: integer genes sampled uniformly, binary
 * tournaments (domination, then crowding), SBX crossover (pair probability 0.9, eta 10,
 * per-variable 0.5, exchange 0.5) and polynomial mutation (individual probability 0.02, eta 3,
 * per-variable min(0.5, 1 / n)) on floats, rounding repair (numpy's round-half-even), duplicates
 * eliminated against the population and each other, rank-and-crowding survival.
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
    // Like pymoo, keep mating (or sampling, for the first generation) until the offspring are new.
    for (let attempt = 0; offspring.length < wanted && attempt < 100 * this.settings.population; attempt++) {
      for (const genes of this.population.length === 0 ? [this.randomGenes()] : this.mate()) {
        const key = geneKey(genes);
        if (seen.has(key) || offspring.length >= wanted) continue;
        seen.add(key);
        offspring.push(genes);
      }
    }
    return offspring;
  }

  tell(genes: number[][], objectives: number[][]): void {
    const merged = [
      ...this.population.map((m) => ({ genes: m.genes, objectives: m.objectives })),
      ...genes.map((g, i) => ({ genes: g, objectives: objectives[i] })),
    ];
    const fronts = nonDominatedFronts(merged.map((m) => m.objectives));
    const survivors: Member[] = [];
    fronts.forEach((front, rank) => {
      if (survivors.length >= this.settings.population) return;
      const crowding = crowdingDistances(
        merged.map((m) => m.objectives),
        front,
      );
      const ordered = [...front].sort((a, b) => (crowding.get(b) as number) - (crowding.get(a) as number));
      for (const i of ordered.slice(0, this.settings.population - survivors.length)) {
        survivors.push({ ...merged[i], rank, crowding: crowding.get(i) as number });
      }
    });
    this.population = survivors;
  }

  /** Binary tournament: the dominating member, else the less crowded one, else a coin flip. */
  private tournament(): Member {
    const a = this.population[this.random.below(this.population.length)];
    const b = this.population[this.random.below(this.population.length)];
    if (dominates(a.objectives, b.objectives)) return a;
    if (dominates(b.objectives, a.objectives)) return b;
    if (a.crowding !== b.crowding) return a.crowding > b.crowding ? a : b;
    return this.random.uniform() < 0.5 ? a : b;
  }

  private mate(): number[][] {
    const first = this.tournament().genes;
    const second = this.tournament().genes;
    const children =
      this.random.uniform() < (this.settings.crossoverProbability ?? 0.9)
        ? this.sbx(first, second)
        : [[...first], [...second]];
    return children.map((child) =>
      this.mutate(child).map((x, i) => Math.min(this.upper[i], Math.max(0, roundHalfEven(x)))),
    );
  }

  /** pymoo's simulated binary crossover with bounds, on the genes as floats. */
  private sbx(p1: number[], p2: number[]): number[][] {
    const eta = this.settings.crossoverEta ?? 10;
    const c1 = [...p1];
    const c2 = [...p2];
    const betaq = (beta: number) => {
      const alpha = 2 - beta ** -(eta + 1);
      const u = this.random.uniform();
      return u <= 1 / alpha ? (u * alpha) ** (1 / (eta + 1)) : (1 / (2 - u * alpha)) ** (1 / (eta + 1));
    };
    for (let i = 0; i < p1.length; i++) {
      if (this.random.uniform() >= 0.5 || Math.abs(p1[i] - p2[i]) <= 1e-14 || this.upper[i] === 0) continue;
      const [y1, y2] = p1[i] < p2[i] ? [p1[i], p2[i]] : [p2[i], p1[i]];
      const delta = y2 - y1;
      let a = 0.5 * (y1 + y2 - betaq(1 + (2 * y1) / delta) * delta);
      let b = 0.5 * (y1 + y2 + betaq(1 + (2 * (this.upper[i] - y2)) / delta) * delta);
      if (this.random.uniform() <= 0.5) [a, b] = [b, a];
      if (p1[i] < p2[i]) [c1[i], c2[i]] = [a, b];
      else [c1[i], c2[i]] = [b, a];
      c1[i] = Math.min(this.upper[i], Math.max(0, c1[i]));
      c2[i] = Math.min(this.upper[i], Math.max(0, c2[i]));
    }
    return [c1, c2];
  }

  /** pymoo's polynomial mutation, applied to an individual with probability 0.02. */
  private mutate(x: number[]): number[] {
    if (this.random.uniform() >= (this.settings.mutationProbability ?? 0.02)) return x;
    const eta = this.settings.mutationEta ?? 3;
    const perVariable = Math.min(0.5, 1 / x.length);
    const power = 1 / (eta + 1);
    return x.map((value, i) => {
      const span = this.upper[i];
      if (span === 0 || this.random.uniform() >= perVariable) return value;
      const delta1 = value / span;
      const delta2 = (span - value) / span;
      const u = this.random.uniform();
      const deltaq =
        u <= 0.5
          ? (2 * u + (1 - 2 * u) * (1 - delta1) ** (eta + 1)) ** power - 1
          : 1 - (2 * (1 - u) + 2 * (u - 0.5) * (1 - delta2) ** (eta + 1)) ** power;
      return Math.min(span, Math.max(0, value + deltaq * span));
    });
  }
}
