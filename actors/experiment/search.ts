import * as tf from '@tensorflow/tfjs-core';
import type { Subject } from 'rxjs';
import { fromPromise } from 'xstate';
import type { PhaseInput } from '../../machines/experiment';
import { prepareSetup } from '../../src/distributed/eval-setup';
import { subnetRecord, type LonasEvent } from '../../src/events';
import { modelIdentity } from '../../src/models/model-identity';
import { subnetCost } from '../../src/nas/cost';
import type { SubnetConfig } from '../../src/nas/search-space';
import type { SearchResult } from '../../src/search/search-result';
import type { TaskObjective } from '../../src/tasks/task';
import { ExperimentError } from '../../src/util/experiment-error';
import { fingerprint } from '../../src/util/fingerprint';
import { openEvaluators, type EvaluatorsWanted } from '../evaluators/open-evaluators';
import { search } from '../search';
import { evaluatorConfigOf } from './experiment-config';
import type { LoadedExperiment } from './load';
import type { ExperimentPlan } from './validate';

/**
 * The evaluators the plan chose, with what each transport needs: worker threads open the
 * super-adapter this run trained (saved in outputDir), else the one it was given, and load while
 * this process scores the maximal and heuristic subnets; queue workers are sent the adapter as it
 * is in memory, with the validation records and the base model's identity.
 */
function evaluatorsWanted(plan: ExperimentPlan, loaded: LoadedExperiment, objective: TaskObjective): EvaluatorsWanted {
  const { config, evaluators } = plan;
  switch (evaluators.kind) {
    case 'here':
    case 'given':
      return evaluators;
    case 'threads': {
      const trained = {
        ...config,
        loraWeights: config.phases.train ? config.outputDir : config.loraWeights,
        // The backend this process chose, named: threads need not probe the others (a GPU driver among them).
        backend: config.backend ?? tf.getBackend(),
      };
      return { kind: 'threads', size: evaluators.size, config: evaluatorConfigOf(trained, evaluators.task) };
    }
    case 'queue':
      return {
        ...evaluators,
        setup: async () =>
          prepareSetup(
            evaluatorConfigOf(config, evaluators.task),
            loaded.network,
            loaded.adapterTaskType,
            objective.records,
            await modelIdentity(config.model, config.tokenizer),
          ),
      };
  }
}

/**
 * The search phase: the maximal and heuristic subnets scored on the validation set (as the
 * official scripts log before searching), then the plan's strategy over the search space, its
 * candidates scored by the chosen evaluators; NNCF's output files in the output folder.
 */
export const searchPhase = (events: Subject<LonasEvent>) =>
  fromPromise<SearchResult, PhaseInput<ExperimentPlan, LoadedExperiment>>(
    async ({ input: { plan, loaded, signal } }) => {
      const { bound, network, tokens } = loaded;
      const objective = bound.objective?.();
      if (objective === undefined) throw new ExperimentError(`${plan.task.name} has no validation set to search on`);
      const space = network.plan.space;
      const emit = (event: LonasEvent) => events.next(event);
      const evaluators = await openEvaluators(evaluatorsWanted(plan, loaded, objective), objective, { emit, signal });
      try {
        const before: Record<string, number> = {};
        for (const [role, subnet] of [
          ['val_maximal', space.maximal()],
          ['val_heuristic', space.heuristic()],
        ] as const) {
          const value = await objective.score(subnet);
          before[`${role}_accuracy`] = value;
          emit({
            type: 'eval.result',
            subnet: subnetRecord(subnet),
            metric: objective.metric,
            value,
            examples: objective.examples,
            role,
          });
        }
        const cost = (subnet: SubnetConfig) => subnetCost(network.plan, subnet, { tokens });
        return await search({
          ...plan.search(space),
          macs: (subnet) => cost(subnet).macs / 1e6,
          weights: (subnet) => cost(subnet).weights,
          evaluators,
          outputDir: plan.config.outputDir,
          before,
          identity: {
            adapter: fingerprint(...(await Promise.all(network.trainableVariables().map((v) => v.data())))),
            'validation data and evaluation settings': objective.fingerprint,
            'search space': fingerprint(space.groups),
            'search settings': fingerprint({ ...plan.nasConfig.nncf.bootstrapNAS.search, num_evals: undefined }),
          },
          // The maximal subnet was just scored on the same set: the search's first evaluation.
          scored: [{ subnet: space.maximal(), accuracy: before.val_maximal_accuracy }],
          signal,
          events,
        });
      } finally {
        await evaluators.close();
      }
    },
  );
