import { fromTransition } from 'xstate';
import { SeededRandom } from '../../src/util/seeded-random';
import * as t from 'io-ts';
import type { SearchSpace } from '../../src/nas/search-space';
import type { SampleEvent, SamplerLogic, SamplerState } from './sampler';

/** `lonas.sampler` for the sandwich rule: how many random subnets follow the max and the min. */
export const SandwichSettings = t.partial({ random_subnets: t.number });

/** The sandwich rule (BigNAS): the max subnet, the min subnet, then `randomSubnets` uniform ones, in turn. */
export const sandwichSampler = (space: SearchSpace, seed: number, randomSubnets = 2): SamplerLogic =>
  fromTransition(
    (state: SamplerState, event: SampleEvent): SamplerState => {
      const position = state.count % (2 + randomSubnets);
      const random = new SeededRandom(0);
      random.state = state.random;
      const subnet =
        position === 0
          ? space.maximal(event.widthIndicator)
          : position === 1
            ? space.minimal(event.widthIndicator)
            : space.sample(random, event.widthIndicator);
      return { subnet, random: random.state, count: state.count + 1 };
    },
    { subnet: space.maximal(), random: seed >>> 0, count: 0 },
  );
