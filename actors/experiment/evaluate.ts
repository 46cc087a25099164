import { fromPromise } from 'xstate';
import type { PhaseInput } from '../../machines/experiment';
import { ExperimentError } from '../../src/util/experiment-error';
import type { LoadedExperiment } from './load';
import type { ExperimentPlan } from './validate';

/** The eval phase (GLUE's --do_eval): the task's dev-set metrics, merged into eval_results.json. */
export const evalPhase = () =>
  fromPromise<Record<string, number>, PhaseInput<ExperimentPlan, LoadedExperiment>>(
    async ({ input: { plan, loaded } }) => {
      const { bound } = loaded;
      if (bound.evaluate === undefined) throw new ExperimentError(`${plan.task.name} has no eval phase (use test)`);
      const metrics = await bound.evaluate();
      plan.output.mergeJson('eval_results.json', metrics);
      return metrics;
    },
  );
