import * as path from 'path';
import * as t from 'io-ts';
import type { NasConfig } from '../../src/nas/nas-config';
import { NncfSearchJson, rejectUnknownKeys, SamplerSectionJson } from '../../src/nas/nncf-config';
import type { SearchSpace } from '../../src/nas/search-space';
import { ExperimentError } from '../../src/util/experiment-error';
import { PluginRegistry, pluginSettings } from '../plugins';
import type { SamplerLogic } from '../samplers/sampler';
import { builtInSamplers } from '../samplers/registry';
import type { SearchInput } from '../search';
import { builtInStrategies } from '../strategies/registry';
import type { SamplerChoice, StrategyChoice } from './experiment-config';

/** The search and sampler a config asks for, checked: `bootstrapNAS.search` and `lonas.sampler`. */
export interface SearchPlan {
  /** The search's inputs that come from the config, with a fresh strategy over `space`. */
  search(
    space: SearchSpace,
  ): Pick<SearchInput, 'space' | 'strategy' | 'algorithm' | 'numEvals' | 'population' | 'refAcc' | 'accDelta'>;
  sampler(space: SearchSpace, seed: number): SamplerLogic;
}

/** What a run names or hands over besides its NNCF config. */
export interface PluginChoices {
  /** Plug-in modules, relative to the working folder (besides the config's lonas.plugins). */
  plugins?: string[];
  search?: StrategyChoice;
  sampler?: SamplerChoice;
}

/**
 * The strategies and samplers a run can name: lonas's own, those of the config's `lonas.plugins`
 * (relative to the config file) and of `plugins` (relative to the working folder).
 */
function pluginsFor(nasConfig: NasConfig, plugins: string[] = []): PluginRegistry {
  const registry = new PluginRegistry([...builtInStrategies, ...builtInSamplers]);
  for (const file of nasConfig.nncf.lonas?.plugins ?? []) registry.load(file, path.dirname(nasConfig.source));
  for (const file of plugins) registry.load(file, process.cwd());
  return registry;
}

/**
 * The strategy and sampler of a run: definitions handed over as they are, names looked up among
 * lonas's own and the plug-ins'; each one's settings (the config's section) decoded by its codec.
 */
export function searchPlanOf(nasConfig: NasConfig, choices: PluginChoices = {}): SearchPlan {
  const where = nasConfig.source;
  const registry = pluginsFor(nasConfig, choices.plugins);
  const search = nasConfig.nncf.bootstrapNAS.search ?? {};
  const strategy =
    typeof choices.search === 'object'
      ? choices.search
      : registry.strategy(choices.search ?? search.algorithm ?? 'NSGA2', where);
  // A section's keys are NNCF's (or the sampler's name) and the plug-in's settings: any other is a slip.
  const ownKeys = (section: t.Mixed, plugin: { settings?: t.Mixed }) =>
    plugin.settings === undefined ? section : t.intersection([section, plugin.settings]);
  rejectUnknownKeys(ownKeys(NncfSearchJson, strategy), search, where, [], 'bootstrapNAS.search');
  const strategySettings = pluginSettings(strategy, search, where);
  const numEvals = search.num_evals ?? 3000;
  const population = search.population ?? 40;
  if (!Number.isInteger(population) || population < 1 || population > numEvals) {
    throw new ExperimentError(
      `${where}: bootstrapNAS.search.population must be an integer between 1 and num_evals (${numEvals}), got ${population}`,
    );
  }
  const samplerSection = nasConfig.nncf.lonas?.sampler ?? {};
  const sampler =
    typeof choices.sampler === 'object'
      ? choices.sampler
      : registry.sampler(choices.sampler ?? samplerSection.name ?? 'uniform', where);
  rejectUnknownKeys(ownKeys(SamplerSectionJson, sampler), samplerSection, where, [], 'lonas.sampler');
  const samplerSettings = pluginSettings(sampler, samplerSection, where);
  return {
    search: (space) => ({
      space,
      strategy: strategy.create({
        choices: space.groups.map((g) => g.widths.length),
        population,
        seed: search.seed ?? 0,
        space,
        settings: strategySettings,
      }),
      algorithm: strategy.name,
      numEvals,
      population,
      refAcc: search.ref_acc ?? -1,
      accDelta: search.acc_delta ?? 1,
    }),
    sampler: (space, seed) => sampler.create({ space, seed, settings: samplerSettings }),
  };
}
