import type { SearchSpace } from '../../src/nas/search-space';
import { PluginRegistry, pluginSettings } from '../plugins';
import { fixed } from './fixed';
import type { SamplerLogic } from './sampler';
import { sandwich } from './sandwich';
import { uniform } from './uniform';

/** lonas's own samplers, defined as any plug-in is (one file each): `lonas.sampler.name` names one. */
export const builtInSamplers = [uniform, sandwich, fixed];

/** A built-in sampler by name, for scripts: `settings` as `lonas.sampler` would hold them. */
export function samplerNamed(
  name: string,
): (space: SearchSpace, options: { seed: number; settings?: unknown }) => SamplerLogic {
  const plugin = new PluginRegistry(builtInSamplers).sampler(name, 'lonas');
  return (space, { seed, settings }) =>
    plugin.create({ space, seed, settings: pluginSettings(plugin, settings, 'lonas') });
}
