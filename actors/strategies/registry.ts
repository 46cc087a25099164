import type { SearchStrategy } from '../../src/search/strategy';
import { PluginRegistry, pluginSettings, type StrategyContext } from '../plugins';
import { localSearch } from './local-search';
import { nsga2 } from './nsga2';
import { randomSearch } from './random-search';

/**
 * lonas's own search strategies, defined as any plug-in is (one file each):
 * `bootstrapNAS.search.algorithm` names one. Each is an ask/tell core in src/search that the
 * search actor drives.
 */
export const builtInStrategies = [nsga2, randomSearch, localSearch];

/** A built-in strategy by name, for scripts: `settings` as `bootstrapNAS.search` would hold them. */
export function strategyNamed(
  name: string,
): (context: Omit<StrategyContext<unknown>, 'settings'> & { settings?: unknown }) => SearchStrategy {
  const plugin = new PluginRegistry(builtInStrategies).strategy(name, 'lonas');
  return (context) => plugin.create({ ...context, settings: pluginSettings(plugin, context.settings, 'lonas') });
}
