import * as fs from 'fs';
import * as path from 'path';
import { samplerRegistry } from './samplers/registry';
import type { SamplerFactory } from './samplers/sampler';
import { strategyRegistry } from './strategies/registry';
import type { NasConfig } from '../src/nas/nas-config';
import type { SearchSpace } from '../src/nas/search-space';
import type { SearchStrategy } from '../src/search/strategy';
import { glueTask } from '../src/tasks/glue-task';
import { llmTask } from '../src/tasks/llm-task';
import { ExperimentError, type Task } from '../src/tasks/task';
import { textTask } from '../src/tasks/text-task';
import { stagesFrom } from '../src/train/schedule';
import type { ExperimentConfig, TaskConfig } from '../src/experiment/experiment-config';

export function taskOf(config: TaskConfig): Task {
  switch (config.kind) {
    case 'glue':
      return glueTask(config);
    case 'text':
      return textTask(config);
    default:
      return llmTask(config);
  }
}

/** The search and sampler a config asks for, checked: `bootstrapNAS.search` and `lonas.sampler`. */
export interface SearchPlan {
  algorithm: string;
  population: number;
  numEvals: number;
  refAcc: number;
  accDelta: number;
  strategy(space: SearchSpace): SearchStrategy;
  sampler: SamplerFactory;
}

export function searchPlanOf(nasConfig: NasConfig): SearchPlan {
  const where = nasConfig.source;
  const settings = nasConfig.nncf.bootstrapNAS.search ?? {};
  const algorithm = settings.algorithm ?? 'NSGA2';
  const factory = strategyRegistry[algorithm];
  if (factory === undefined) {
    throw new ExperimentError(
      `${where}: bootstrapNAS.search.algorithm '${algorithm}' is not a search algorithm (known: ${Object.keys(strategyRegistry).join(', ')})`,
    );
  }
  const numEvals = settings.num_evals ?? 3000;
  const population = settings.population ?? 40;
  if (!Number.isInteger(population) || population < 1 || population > numEvals) {
    throw new ExperimentError(
      `${where}: bootstrapNAS.search.population must be an integer between 1 and num_evals (${numEvals}), got ${population}`,
    );
  }
  const samplerName = nasConfig.nncf.lonas?.sampler?.name ?? 'uniform';
  const sampler = samplerRegistry[samplerName];
  if (sampler === undefined) {
    throw new ExperimentError(
      `${where}: lonas.sampler.name '${samplerName}' is not a sampler (known: ${Object.keys(samplerRegistry).join(', ')})`,
    );
  }
  return {
    algorithm,
    population,
    numEvals,
    refAcc: settings.ref_acc ?? -1,
    accDelta: settings.acc_delta ?? 1,
    strategy: (space) =>
      factory({
        choices: space.groups.map((g) => g.widths.length),
        population,
        seed: settings.seed ?? 0,
        crossoverProbability: settings.crossover_prob,
        crossoverEta: settings.crossover_eta,
        mutationProbability: settings.mutation_prob,
        mutationEta: settings.mutation_eta,
      }),
    sampler,
  };
}

/**
 * Every check that needs no model: the schedule, the search and sampler settings, the task's
 * files for the phases asked, the model and adapter paths, and an output folder that can be
 * written. Runs before anything loads, so a mistake costs seconds, not a training run.
 */
export function validateExperiment(config: ExperimentConfig, task: Task, nasConfig: NasConfig): void {
  const { phases } = config;
  if (!phases.train && !phases.eval && !phases.test && !phases.search) {
    throw new ExperimentError('nothing to do: no phase (train, eval, test, search) was asked for');
  }
  if (phases.train)
    stagesFrom(nasConfig.nncf.bootstrapNAS.training?.schedule?.list_stage_descriptions, nasConfig.source);
  searchPlanOf(nasConfig);
  task.validate(phases);
  if (!fs.existsSync(config.model)) {
    throw new ExperimentError(`${config.model}: no such model folder or checkpoint file`);
  }
  if (config.loraWeights !== undefined && !fs.existsSync(path.join(config.loraWeights, 'adapter_config.json'))) {
    throw new ExperimentError(`${config.loraWeights}: no adapter_config.json (expected a PEFT adapter folder)`);
  }
  try {
    fs.mkdirSync(config.outputDir, { recursive: true });
    fs.accessSync(config.outputDir, fs.constants.W_OK);
  } catch (error) {
    throw new ExperimentError(`${config.outputDir}: cannot write the output folder (${(error as Error).message})`);
  }
}
