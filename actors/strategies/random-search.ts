import { RandomSearch } from '../../src/search/random-search';
import { defineStrategy } from '../plugins';

/** Uniform random search: each generation, subnets never asked before. */
export const randomSearch = defineStrategy({ name: 'random', create: (context) => new RandomSearch(context) });
