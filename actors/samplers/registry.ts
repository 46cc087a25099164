import { fixedSampler } from './fixed';
import { sandwichSampler } from './sandwich';
import type { SamplerFactory } from './sampler';
import { uniformSampler } from './uniform';

/** Samplers by the name a config gives (`lonas.sampler.name`). A new sampler is a file and a line here. */
export const samplerRegistry: Record<string, SamplerFactory> = {
  uniform: uniformSampler,
  sandwich: sandwichSampler,
  fixed: fixedSampler,
};

export function samplerNamed(name: string): SamplerFactory {
  const factory = samplerRegistry[name];
  if (factory === undefined) {
    throw new Error(`unknown sampler '${name}' (known: ${Object.keys(samplerRegistry).join(', ')})`);
  }
  return factory;
}
