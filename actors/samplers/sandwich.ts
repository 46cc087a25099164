import * as t from 'io-ts';
import type { SearchSpace } from '../../src/nas/search-space';
import type { SamplerLogic } from './sampler';
import { samplerFromReducer } from './sampler-from-reducer';

/** `lonas.sampler` for the sandwich rule: how many random subnets follow the max and the min. */
export const SandwichSettings = t.partial({ random_subnets: t.number });

/** The sandwich rule (BigNAS): the max subnet, the min subnet, then `randomSubnets` uniform ones, in turn. */
export const sandwichSampler = (space: SearchSpace, seed: number, randomSubnets = 2): SamplerLogic =>
  samplerFromReducer(
    (_state, event, random, drawn) => {
      const position = drawn % (2 + randomSubnets);
      const subnet =
        position === 0
          ? space.maximal(event.widthIndicator)
          : position === 1
            ? space.minimal(event.widthIndicator)
            : space.sample(random, event.widthIndicator);
      return { subnet };
    },
    { seed, subnet: space.maximal() },
  );
