import { SeededRandom } from '../util/seeded-random';
import { paretoFront } from './pareto';
import { geneKey, spaceSize, type SearchStrategy, type StrategySettings } from './strategy';

/**
 * Pareto local search: after a random first generation, each generation takes members of the
 * current Pareto front and moves one or two of their genes one choice up or down, so the search
 * fills gaps along the front instead of breeding across it. Useful once a front exists (for
 * example to refine NSGA-II's), and cheap to reason about.
 */
export class ParetoLocalSearch implements SearchStrategy {
  private readonly random: SeededRandom;
  private readonly evaluated: Array<{ genes: number[]; objectives: number[] }> = [];
  private readonly seen = new Set<string>();

  constructor(private readonly settings: StrategySettings) {
    this.random = new SeededRandom(settings.seed);
  }

  private neighbour(genes: number[]): number[] {
    const next = [...genes];
    const moves = 1 + this.random.below(2);
    for (let m = 0; m < moves; m++) {
      const i = this.random.below(next.length);
      const step = this.random.uniform() < 0.5 ? -1 : 1;
      next[i] = Math.min(this.settings.choices[i] - 1, Math.max(0, next[i] + step));
    }
    return next;
  }

  ask(): number[][] {
    const wanted = Math.min(this.settings.population, spaceSize(this.settings.choices) - this.seen.size);
    const front = paretoFront(this.evaluated.map((e) => e.objectives)).map((i) => this.evaluated[i].genes);
    const batch: number[][] = [];
    for (let attempt = 0; batch.length < wanted && attempt < 1000 * this.settings.population; attempt++) {
      const genes =
        front.length === 0 || attempt >= 100 * this.settings.population
          ? this.settings.choices.map((c) => this.random.below(c))
          : this.neighbour(front[this.random.below(front.length)]);
      const key = geneKey(genes);
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      batch.push(genes);
    }
    return batch;
  }

  tell(genes: number[][], objectives: number[][]): void {
    genes.forEach((g, i) => this.evaluated.push({ genes: g, objectives: objectives[i] }));
  }
}
