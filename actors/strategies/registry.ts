import * as t from 'io-ts';
import { ParetoLocalSearch } from '../../src/search/local-search';
import { Nsga2 } from '../../src/search/nsga2';
import { RandomSearch } from '../../src/search/random-search';
import type { SearchStrategy } from '../../src/search/strategy';
import { defineStrategy, PluginRegistry, pluginSettings, type StrategyContext } from '../plugins';

/** NNCF's operator settings in `bootstrapNAS.search`. */
const Nsga2Settings = t.partial({
  crossover_prob: t.number,
  crossover_eta: t.number,
  mutation_prob: t.number,
  mutation_eta: t.number,
});

/**
 * lonas's own search strategies, defined as any plug-in is: `bootstrapNAS.search.algorithm`
 * names one. Each is an ask/tell core in src/search that the search actor drives.
 */
export const builtInStrategies = [
  defineStrategy({
    name: 'NSGA2',
    settings: Nsga2Settings,
    create: ({ choices, population, seed, settings }) =>
      new Nsga2({
        choices,
        population,
        seed,
        crossoverProbability: settings.crossover_prob,
        crossoverEta: settings.crossover_eta,
        mutationProbability: settings.mutation_prob,
        mutationEta: settings.mutation_eta,
      }),
  }),
  defineStrategy({ name: 'random', create: (context) => new RandomSearch(context) }),
  defineStrategy({ name: 'local', create: (context) => new ParetoLocalSearch(context) }),
];

/** A built-in strategy by name, for scripts: `settings` as `bootstrapNAS.search` would hold them. */
export function strategyNamed(
  name: string,
): (context: Omit<StrategyContext<unknown>, 'settings'> & { settings?: unknown }) => SearchStrategy {
  const plugin = new PluginRegistry(builtInStrategies).strategy(name, 'lonas');
  return (context) => plugin.create({ ...context, settings: pluginSettings(plugin, context.settings, 'lonas') });
}
