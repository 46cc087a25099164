import * as t from 'io-ts';
import type { SearchSpace, SubnetConfig } from '../../src/nas/search-space';
import { defineSampler } from '../plugins';
import type { SamplerLogic } from './sampler';
import { samplerFromReducer } from './sampler-from-reducer';

/** Always one subnet (the max by default): a plain-LoRA baseline, or training one chosen subnet. */
export const fixedSampler = (space: SearchSpace, seed: number, subnet?: SubnetConfig): SamplerLogic => {
  const fixed = space.validate(subnet ?? space.maximal());
  return samplerFromReducer(() => ({ subnet: fixed }), { seed, subnet: fixed });
};

/** The fixed sampler as a config names it; `lonas.sampler.subnet` is {group index: width}. */
export const fixed = defineSampler({
  name: 'fixed',
  settings: t.partial({ subnet: t.record(t.string, t.number) }),
  create: ({ space, seed, settings }) => fixedSampler(space, seed, settings.subnet),
});
