import * as t from 'io-ts';
import type { SearchSpace, SubnetConfig } from '../../src/nas/search-space';
import type { SamplerLogic } from './sampler';
import { samplerFromReducer } from './sampler-from-reducer';

/** `lonas.sampler` for a fixed subnet: {group index: width}. */
export const FixedSettings = t.partial({ subnet: t.record(t.string, t.number) });

/** Always one subnet (the max by default): a plain-LoRA baseline, or training one chosen subnet. */
export const fixedSampler = (space: SearchSpace, seed: number, subnet?: SubnetConfig): SamplerLogic => {
  const fixed = space.validate(subnet ?? space.maximal());
  return samplerFromReducer(() => ({ subnet: fixed }), { seed, subnet: fixed });
};
