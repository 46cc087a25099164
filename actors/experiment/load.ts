import type { Subject } from 'rxjs';
import { fromPromise } from 'xstate';
import type { LoadInput } from '../../machines/experiment';
import type { LonasEvent } from '../../src/events';
import { openExperiment, type OpenExperiment } from '../../src/experiment/open-experiment';
import { subnetCost } from '../../src/nas/cost';
import type { ExperimentPlan } from './validate';

/** The experiment's model, ready for its phases, and the largest subnet's MACs (millions). */
export interface LoadedExperiment extends OpenExperiment {
  maxMacs: number;
}

/** The load phase: the backend, the base model as a super-network, the tokenizer, the task bound to them. */
export const loadPhase = (events: Subject<LonasEvent>) =>
  fromPromise<LoadedExperiment, LoadInput<ExperimentPlan>>(async ({ input: { plan, signal } }) => {
    const { config, task, nasConfig } = plan;
    const { phases } = config;
    const loaded = await openExperiment(
      { ...config, seed: config.training.seed },
      task,
      { emit: (event) => events.next(event), output: plan.output, signal },
      {
        nasConfig,
        ...(phases.train ? { trainingBatch: config.training.batchSize } : {}),
        evaluates: phases.eval || phases.test || phases.search,
      },
    );
    const { network, tokens } = loaded;
    return { ...loaded, maxMacs: subnetCost(network.plan, network.plan.space.maximal(), { tokens }).macs / 1e6 };
  });
