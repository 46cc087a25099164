import { SeededRandom } from '../util/seeded-random';
import { geneKey, spaceSize, type SearchStrategy, type StrategySettings } from './strategy';

/** Uniform random search: each generation, `population` subnets never asked before. */
export class RandomSearch implements SearchStrategy {
  private readonly random: SeededRandom;
  private readonly seen = new Set<string>();

  constructor(private readonly settings: StrategySettings) {
    this.random = new SeededRandom(settings.seed);
  }

  ask(): number[][] {
    const wanted = Math.min(this.settings.population, spaceSize(this.settings.choices) - this.seen.size);
    const batch: number[][] = [];
    while (batch.length < wanted) {
      const genes = this.settings.choices.map((c) => this.random.below(c));
      const key = geneKey(genes);
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      batch.push(genes);
    }
    return batch;
  }

  tell(): void {}
}
