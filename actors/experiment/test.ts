import { fromPromise } from 'xstate';
import type { PhaseInput } from '../../machines/experiment';
import { subnetCost } from '../../src/nas/cost';
import { ExperimentError } from '../../src/util/experiment-error';
import type { LoadedExperiment } from './load';
import type { ExperimentPlan } from './validate';

/** The test phase: the heuristic subnet on the task's test sets (the task writes its result files). */
export const testPhase = () =>
  fromPromise<Record<string, number | string>, PhaseInput<ExperimentPlan, LoadedExperiment>>(
    async ({ input: { plan, loaded } }) => {
      const { bound, network, tokens } = loaded;
      if (bound.test === undefined) throw new ExperimentError(`${plan.task.name} has no test sets`);
      const subnet = network.plan.space.heuristic();
      return bound.test(subnet, subnetCost(network.plan, subnet, { tokens }));
    },
  );
