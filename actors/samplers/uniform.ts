import { fromTransition } from 'xstate';
import { SeededRandom } from '../../src/util/seeded-random';
import type { SearchSpace } from '../../src/nas/search-space';
import type { SampleEvent, SamplerLogic, SamplerState } from './sampler';

/** LoNAS's sampler: every group independently uniform over its active choices. */
export const uniformSampler = (space: SearchSpace, seed: number): SamplerLogic =>
  fromTransition(
    (state: SamplerState, event: SampleEvent): SamplerState => {
      const random = new SeededRandom(0);
      random.state = state.random;
      const subnet = space.sample(random, event.widthIndicator);
      return { subnet, random: random.state, count: state.count + 1 };
    },
    { subnet: space.maximal(), random: seed >>> 0, count: 0 },
  );
