import { defineSampler } from '../plugins';
import { samplerFromReducer } from './sampler-from-reducer';

/** LoNAS's sampler: every group independently uniform over its active choices. */
export const uniform = defineSampler({
  name: 'uniform',
  create: ({ space, seed }) =>
    samplerFromReducer((_state, event, random) => ({ subnet: space.sample(random, event.widthIndicator) }), {
      seed,
      subnet: space.maximal(),
    }),
});
