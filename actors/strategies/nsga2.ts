import * as t from 'io-ts';
import { Nsga2 } from '../../src/search/nsga2';
import { defineStrategy } from '../plugins';

/** NNCF's operator settings in `bootstrapNAS.search`. */
const Nsga2Settings = t.partial({
  crossover_prob: t.number,
  crossover_eta: t.number,
  mutation_prob: t.number,
  mutation_eta: t.number,
});

/** NNCF's default search: NSGA-II over the genes, as pymoo runs it. */
export const nsga2 = defineStrategy({
  name: 'NSGA2',
  settings: Nsga2Settings,
  create: ({ choices, population, seed, settings }) =>
    new Nsga2({
      choices,
      population,
      seed,
      crossoverProbability: settings.crossover_prob,
      crossoverEta: settings.crossover_eta,
      mutationProbability: settings.mutation_prob,
      mutationEta: settings.mutation_eta,
    }),
});
