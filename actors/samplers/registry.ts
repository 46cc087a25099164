import { defineSampler, PluginRegistry, pluginSettings } from '../plugins';
import { fixedSampler, FixedSettings } from './fixed';
import type { SamplerLogic } from './sampler';
import { sandwichSampler, SandwichSettings } from './sandwich';
import { uniformSampler } from './uniform';
import type { SearchSpace } from '../../src/nas/search-space';

/** lonas's own samplers, defined as any plug-in is: `lonas.sampler.name` names one. */
export const builtInSamplers = [
  defineSampler({ name: 'uniform', create: ({ space, seed }) => uniformSampler(space, seed) }),
  defineSampler({
    name: 'sandwich',
    settings: SandwichSettings,
    create: ({ space, seed, settings }) => sandwichSampler(space, seed, settings.random_subnets),
  }),
  defineSampler({
    name: 'fixed',
    settings: FixedSettings,
    create: ({ space, seed, settings }) => fixedSampler(space, seed, settings.subnet),
  }),
];

/** A built-in sampler by name, for scripts: `settings` as `lonas.sampler` would hold them. */
export function samplerNamed(
  name: string,
): (space: SearchSpace, options: { seed: number; settings?: unknown }) => SamplerLogic {
  const plugin = new PluginRegistry(builtInSamplers).sampler(name, 'lonas');
  return (space, { seed, settings }) =>
    plugin.create({ space, seed, settings: pluginSettings(plugin, settings, 'lonas') });
}
