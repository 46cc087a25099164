import * as t from 'io-ts';
import { defineSampler } from '../plugins';
import { samplerFromReducer } from './sampler-from-reducer';

/** The sandwich rule (BigNAS): the max subnet, the min subnet, then `random_subnets` (2) uniform ones, in turn. */
export const sandwich = defineSampler({
  name: 'sandwich',
  settings: t.partial({ random_subnets: t.number }),
  create: ({ space, seed, settings }) => {
    const cycle = 2 + (settings.random_subnets ?? 2);
    return samplerFromReducer(
      (_state, event, random, drawn) => {
        const position = drawn % cycle;
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
  },
});
