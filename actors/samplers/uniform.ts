import type { SearchSpace } from '../../src/nas/search-space';
import type { SamplerLogic } from './sampler';
import { samplerFromReducer } from './sampler-from-reducer';

/** LoNAS's sampler: every group independently uniform over its active choices. */
export const uniformSampler = (space: SearchSpace, seed: number): SamplerLogic =>
  samplerFromReducer((_state, event, random) => ({ subnet: space.sample(random, event.widthIndicator) }), {
    seed,
    subnet: space.maximal(),
  });
