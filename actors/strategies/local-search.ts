import { ParetoLocalSearch } from '../../src/search/local-search';
import { defineStrategy } from '../plugins';

/** Pareto local search: neighbours of the non-dominated subnets found so far. */
export const localSearch = defineStrategy({ name: 'local', create: (context) => new ParetoLocalSearch(context) });
