import * as fs from 'fs';
import * as path from 'path';
import { pipe } from 'fp-ts/function';
import * as E from 'fp-ts/Either';
import type { Subject } from 'rxjs';
import { fromPromise } from 'xstate';
import type { ValidateInput } from '../../machines/experiment';
import { allChecked, attempt, orThrow, type Checked } from '../../src/config/checked';
import { probeRedis } from '../../src/distributed/redis-client';
import { redisTarget } from '../../src/distributed/redis-url';
import type { LonasEvent } from '../../src/events';
import { outputFiles } from '../../src/experiment/output-files';
import { removeLeftovers } from '../../src/io/leftovers';
import { claimForTraining, lockOutputDir } from '../../src/io/output-dir';
import { recordEvents } from '../../src/live/event-log';
import { nasConfigOf, type NasConfig } from '../../src/nas/nas-config';
import type { Task, TaskOutput } from '../../src/tasks/task';
import { taskOf } from '../../src/tasks/task-of';
import { globalScheduleFrom, stageSettingsNotDone, stagesFrom } from '../../src/train/schedule';
import { evaluatorChoiceOf, type EvaluatorChoice } from './evaluator-choice';
import type { ExperimentConfig } from './experiment-config';
import { searchPlanOf, type SearchPlan } from './search-plan';

/** An experiment checked before anything loads: what the later phases run with. */
export interface ExperimentPlan extends SearchPlan {
  config: ExperimentConfig;
  nasConfig: NasConfig;
  task: Task;
  evaluators: EvaluatorChoice;
  /** The run's result files in its output folder. */
  output: TaskOutput;
  /** Frees the output folder for another run: called when the experiment ends. */
  releaseOutputDir(): void;
}

/** The most training epochs a run may ask for. */
const MAX_EPOCHS = 100_000;

const positiveInteger = (field: string, value: number | undefined): Checked<void> =>
  value === undefined || (Number.isInteger(value) && value >= 1)
    ? E.right(undefined)
    : E.left([`${field} must be a positive integer, got ${value}`]);

const problem = (condition: boolean, message: () => string): Checked<void> =>
  condition ? E.left([message()]) : E.right(undefined);

/** The numbers of a run's training and evaluation. */
function checkNumbers(config: ExperimentConfig): Checked<unknown> {
  const { training } = config;
  return allChecked({
    batchSize: positiveInteger('training.batchSize', training.batchSize),
    accumulation: positiveInteger('training.gradientAccumulationSteps', training.gradientAccumulationSteps),
    // LoNAS trains for 6 to 80 epochs; a count past this bound is a slip of the keyboard that would run for ever.
    epochs: pipe(
      positiveInteger('training.epochs', training.epochs),
      E.flatMap(() =>
        problem(
          training.epochs !== undefined && training.epochs > MAX_EPOCHS,
          () => `training.epochs (--num_train_epochs) must be at most ${MAX_EPOCHS}, got ${training.epochs}`,
        ),
      ),
    ),
    evalBatchSize: positiveInteger('evalBatchSize', config.evalBatchSize),
    weightDecay: problem(
      !(training.weightDecay >= 0),
      () => `training.weightDecay must be a number >= 0, got ${training.weightDecay}`,
    ),
  });
}

/** The files and folders a run reads and writes. */
function checkPaths(config: ExperimentConfig): Checked<unknown> {
  return allChecked({
    model: problem(!fs.existsSync(config.model), () => `${config.model}: no such model folder or checkpoint file`),
    adapter: problem(
      config.loraWeights !== undefined && !fs.existsSync(path.join(config.loraWeights, 'adapter_config.json')),
      () => `${config.loraWeights}: no adapter_config.json (expected a PEFT adapter folder)`,
    ),
    outputDir: attempt(() => {
      try {
        fs.mkdirSync(config.outputDir, { recursive: true });
        fs.accessSync(config.outputDir, fs.constants.W_OK);
      } catch (error) {
        throw new Error(`${config.outputDir}: cannot write the output folder (${(error as Error).message})`);
      }
    }),
  });
}

/** What follows from the NNCF config: the stage schedule, the strategy and sampler, the evaluators. */
function checkNasConfig(
  config: ExperimentConfig,
): Checked<{ nasConfig: NasConfig; plan: SearchPlan; evaluators: EvaluatorChoice; notDone: string[] }> {
  const { phases } = config;
  return pipe(
    attempt(() => nasConfigOf(config.nncfConfig)),
    E.flatMap((nasConfig) => {
      const training = nasConfig.nncf.bootstrapNAS.training;
      const stages = training?.schedule?.list_stage_descriptions;
      return allChecked({
        nasConfig: E.right(nasConfig),
        schedule: attempt(() => {
          if (!phases.train) return;
          stagesFrom(stages, nasConfig.source);
          globalScheduleFrom(training?.lr_schedule, stages, nasConfig.source);
        }),
        plan: attempt(() => searchPlanOf(nasConfig, config)),
        evaluators: attempt((): EvaluatorChoice =>
          phases.search ? evaluatorChoiceOf(config, nasConfig) : { kind: 'here' },
        ),
        notDone: attempt(() => (phases.train ? stageSettingsNotDone(stages, nasConfig.source) : [])),
      });
    }),
  );
}

/**
 * Every check that needs no model, all at once: the phases, the NNCF config (schedule, strategy,
 * sampler, evaluators), the task's files for the phases asked, the numbers, the model and
 * adapter paths, and an output folder that can be written. A mistake costs seconds, not a
 * training run, and a config with several names them all.
 */
export function checkExperiment(config: ExperimentConfig) {
  const { phases } = config;
  return orThrow(
    allChecked({
      phases: problem(
        !phases.train && !phases.eval && !phases.test && !phases.search,
        () => 'nothing to do: no phase (train, eval, test, search) was asked for',
      ),
      nas: checkNasConfig(config),
      task: attempt(() => {
        const task = taskOf(config.task);
        task.validate(phases);
        return task;
      }),
      numbers: checkNumbers(config),
      paths: checkPaths(config),
    }),
    "the experiment's settings",
  );
}

/**
 * The validate phase: every check, then the run's claim on its output folder (a lock; a training
 * run found there is refused unless resumed or overwritten), its event log, and a reachable
 * Redis where the search evaluates on a queue. Settings accepted but not acted on are said once.
 */
export const validatePhase = (events: Subject<LonasEvent>) =>
  fromPromise<ExperimentPlan, ValidateInput<ExperimentConfig>>(async ({ input: { config } }) => {
    const { nas, task } = checkExperiment(config);
    const { nasConfig, plan, evaluators, notDone } = nas;
    // A Redis that is down or refuses the password is found now, in seconds, not after training.
    if (evaluators.kind === 'queue') await probeRedis(redisTarget(evaluators.url, evaluators.field));
    const { outputDir } = config;
    const releaseOutputDir = lockOutputDir(outputDir);
    try {
      if (config.phases.train) {
        claimForTraining(outputDir, { resume: config.training.resume, overwrite: config.overwriteOutputDir });
      }
    } catch (error) {
      releaseOutputDir();
      throw error;
    }
    for (const line of notDone) process.stderr.write(`lonas: ${line}\n`);
    for (const file of removeLeftovers(outputDir))
      process.stderr.write(`lonas: removed ${file}, left by a killed run\n`);
    recordEvents(events, outputDir);
    return { ...plan, config, nasConfig, task, evaluators, output: outputFiles(outputDir), releaseOutputDir };
  });
