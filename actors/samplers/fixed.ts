import { fromTransition } from 'xstate';
import type { SampleEvent, SamplerFactory, SamplerState } from './sampler';

/** Always one subnet (the max by default): a plain-LoRA baseline, or training one chosen subnet. */
export const fixedSampler: SamplerFactory = (space, { seed, subnet }) => {
  const fixed = space.validate(subnet ?? space.maximal());
  return fromTransition(
    (state: SamplerState, _event: SampleEvent): SamplerState => ({ ...state, subnet: fixed, count: state.count + 1 }),
    { subnet: fixed, random: seed >>> 0, count: 0 },
  );
};
