import { ParetoLocalSearch } from '../../src/search/local-search';
import { Nsga2 } from '../../src/search/nsga2';
import { RandomSearch } from '../../src/search/random-search';
import type { StrategyFactory } from '../../src/search/strategy';

/**
 * Search strategies by `bootstrapNAS.search.algorithm`. A strategy is an ask/tell core; the
 * search actor (actors/search.ts) drives it. A new one is a core in src/search and a line here.
 */
export const strategyRegistry: Record<string, StrategyFactory> = {
  NSGA2: (settings) => new Nsga2(settings),
  random: (settings) => new RandomSearch(settings),
  local: (settings) => new ParetoLocalSearch(settings),
};

export function strategyNamed(name: string): StrategyFactory {
  const factory = strategyRegistry[name];
  if (factory === undefined) {
    throw new Error(`unknown search algorithm '${name}' (known: ${Object.keys(strategyRegistry).join(', ')})`);
  }
  return factory;
}
