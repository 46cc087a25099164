import * as fs from 'fs';
import * as path from 'path';
import { Subject, type Observable } from 'rxjs';
import { createActor, fromPromise, toPromise } from 'xstate';
import { inProcessPool, type EvaluatorPool } from '../evaluators/evaluator-pool';
import { workerPool } from '../evaluators/worker-pool';
import { search } from '../search';
import { train } from '../trainer';
import { experimentMachine, type ExperimentResults } from '../../machines/experiment';
import { subnetRecord, type LonasEvent } from '../../src/events';
import { fingerprint } from '../../src/util/fingerprint';
import { removeLeftovers } from '../../src/io/leftovers';
import { claimForTraining, lockOutputDir } from '../../src/io/output-dir';
import { writeFileAtomic } from '../../src/io/atomic-write';
import { recordEvents } from '../../src/live/event-log';
import { subnetCost } from '../../src/nas/cost';
import { readNasConfig, type NasConfig } from '../../src/nas/nas-config';
import { ExperimentError } from '../../src/util/experiment-error';
import type { Task, TaskObjective, TaskOutput } from '../../src/tasks/task';
import { openExperiment, type OpenExperiment } from '../../src/experiment/open-experiment';
import { collate } from '../../src/train/batches';
import { globalScheduleFrom, stagesFrom } from '../../src/train/schedule';
import type { ExperimentConfig } from '../../src/experiment/experiment-config';
import { validateExperiment, type EvaluatorChoice, type SearchPlan } from './validate';
import { taskOf } from '../../src/tasks/task-of';
import { queuePool } from '../evaluators/queue-pool';
import { prepareSetup } from '../../src/distributed/eval-setup';
import { probeRedis } from '../../src/distributed/redis-client';
import { redisTarget } from '../../src/distributed/redis-url';
import { modelIdentity } from '../../src/models/model-identity';

/** What an experiment ended as, with each phase's result. */
export interface ExperimentOutcome {
  status: 'done' | 'interrupted' | 'failed';
  results: ExperimentResults;
  /** Why it failed. */
  reason?: string;
  /** The largest subnet's MACs in millions, once the model loaded. */
  maxMacs?: number;
}

/** A running experiment. */
export interface ExperimentHandle {
  /** Every event of the run, as it happens; completes when the run ends. */
  events$: Observable<LonasEvent>;
  /** Settles when the run has ended (it never rejects: failures are `status: 'failed'`). */
  result: Promise<ExperimentOutcome>;
  /**
   * Asks the run to stop: training checkpoints after its current micro-step, an evaluation stops
   * between batches, and nothing after the stopped phase runs (`status: 'interrupted'`).
   */
  stop(): void;
}

/**
 * Runs an experiment — validate -> load -> train -> eval -> test -> search — through the
 * experiment machine, writing every output to `config.outputDir` (with `events.jsonl`). Settings
 * are checked before anything loads. Subscribe to `events$` before the run's first await to see
 * every event (a subscriber added later sees the rest).
 */
export function runExperiment(config: ExperimentConfig): ExperimentHandle {
  const events = new Subject<LonasEvent>();
  const emit = (event: LonasEvent) => events.next(event);
  const abort = new AbortController();
  const task: Task = taskOf(config.task);
  let loaded: OpenExperiment | undefined;
  let maxMacs: number | undefined;
  const { outputDir } = config;

  let releaseOutputDir: (() => void) | undefined;
  const written = new Set<string>();
  const output: TaskOutput = {
    writeJson: (name, value) => {
      writeFileAtomic(path.join(outputDir, name), `${JSON.stringify(value, null, 2)}\n`);
      written.add(name);
    },
    mergeJson: (name, value) => {
      const before = written.has(name)
        ? (JSON.parse(fs.readFileSync(path.join(outputDir, name), 'utf8')) as Record<string, unknown>)
        : {};
      output.writeJson(name, { ...before, ...value });
    },
  };
  let nasConfig: NasConfig | undefined;
  let searchPlan: (SearchPlan & { evaluators: EvaluatorChoice }) | undefined;
  const nas = () => nasConfig as NasConfig;
  const phases = config.phases;
  const need = () => loaded as OpenExperiment;

  /**
   * The search's evaluators. Worker threads open the super-adapter this run trained (saved in
   * outputDir), else the one it was given, and load while this process scores the maximal and
   * heuristic subnets; queue workers are sent the adapter as it is in memory, with the validation
   * records and the base model's identity.
   */
  const evaluatorsFor = async (choice: EvaluatorChoice, objective: TaskObjective): Promise<EvaluatorPool> => {
    switch (choice.kind) {
      case 'here':
        return inProcessPool((subnet) => objective.score(subnet));
      case 'threads':
        return workerPool({
          size: choice.size,
          config: { ...config, loraWeights: phases.train ? outputDir : config.loraWeights },
          emit,
          signal: abort.signal,
        });
      case 'queue': {
        const { network, adapterTaskType } = need();
        const identity = await modelIdentity(config.model, config.tokenizer);
        return queuePool({
          url: choice.url,
          field: choice.field,
          queue: choice.queue,
          setup: await prepareSetup(config, network, adapterTaskType, objective.records, identity),
          emit,
          signal: abort.signal,
        });
      }
    }
  };

  const machine = experimentMachine.provide({
    actions: {
      requestStop: () => {
        abort.abort(new ExperimentError('the experiment was asked to stop'));
      },
    },
    actors: {
      validate: fromPromise(async () => {
        nasConfig = readNasConfig(config.nncfConfig);
        const checked = validateExperiment(config, task, nasConfig);
        searchPlan = checked;
        const { evaluators } = checked;
        // A Redis that is down or refuses the password is found now, in seconds, not after training.
        if (phases.search && evaluators.kind === 'queue')
          await probeRedis(redisTarget(evaluators.url, evaluators.field));
        releaseOutputDir = lockOutputDir(outputDir);
        if (phases.train) {
          claimForTraining(outputDir, {
            resume: config.training.resume,
            overwrite: config.overwriteOutputDir ?? false,
          });
        }
        for (const line of checked.notDone) process.stderr.write(`lonas: ${line}\n`);
        for (const file of removeLeftovers(outputDir))
          process.stderr.write(`lonas: removed ${file}, left by a killed run\n`);
        recordEvents(events, outputDir);
      }),
      load: fromPromise(async () => {
        loaded = await openExperiment(config, nas(), task, { emit, output, signal: abort.signal });
        const { network, tokens } = loaded;
        maxMacs = subnetCost(network.plan, network.plan.space.maximal(), { tokens }).macs / 1e6;
      }),
      train: fromPromise(async () => {
        const { network, bound, padTokenId } = need();
        const { training } = config;
        const descriptions = nas().nncf.bootstrapNAS.training?.schedule?.list_stage_descriptions;
        const stages = stagesFrom(descriptions, nas().source);
        const evaluateEachEpoch =
          phases.eval && training.evaluationStrategy === 'epoch' && bound.evaluate !== undefined;
        // A resumed run keeps the evaluations of the epochs it had done.
        const historyFile = path.join(outputDir, 'eval_history.json');
        let history: Array<Record<string, number>> =
          training.resume && fs.existsSync(historyFile)
            ? (JSON.parse(fs.readFileSync(historyFile, 'utf8')) as Array<Record<string, number>>)
            : [];
        return train({
          network,
          loss: need().taskLoss,
          examples: bound.trainingExamples(),
          collate: (batch) => collate(batch, { padTokenId, paddingSide: bound.paddingSide, padToMultipleOf: 8 }),
          stages,
          globalSchedule: globalScheduleFrom(nas().nncf.bootstrapNAS.training?.lr_schedule, descriptions, nas().source),
          sampler: (searchPlan as SearchPlan).sampler(network.plan.space, training.seed),
          batchSize: training.batchSize,
          gradientAccumulationSteps: training.gradientAccumulationSteps,
          epochs: training.epochs ?? stages.reduce((sum, s) => sum + s.epochs, 0),
          seed: training.seed,
          weightDecay: training.weightDecay,
          optim: training.optim,
          afterEpoch: evaluateEachEpoch
            ? async (epoch) => {
                let metrics: Record<string, number> | undefined;
                try {
                  metrics = await bound.evaluate?.(epoch + 1);
                } catch (error) {
                  // A stop during the evaluation leaves it undone; the trainer still checkpoints the epoch.
                  if (abort.signal.aborted) return;
                  throw error;
                }
                history = [...history.filter((h) => h.epoch < epoch + 1), { epoch: epoch + 1, ...metrics }];
                output.writeJson('eval_history.json', history);
              }
            : undefined,
          outputDir,
          saveStrategy: training.saveStrategy,
          saveTotalLimit: training.saveTotalLimit,
          resume: training.resume,
          adapter: { baseModel: config.model, taskType: need().adapterTaskType },
          identity: {
            model: config.model,
            task: fingerprint(config.task),
            sampler: fingerprint(nas().nncf.lonas?.sampler ?? {}),
          },
          signal: abort.signal,
          events,
        });
      }),
      eval: fromPromise(async () => {
        const { bound } = need();
        if (bound.evaluate === undefined) throw new ExperimentError(`${task.name} has no eval phase (use test)`);
        const metrics = await bound.evaluate();
        output.mergeJson('eval_results.json', metrics);
        return metrics;
      }),
      test: fromPromise(async () => {
        const { bound, network, tokens } = need();
        if (bound.test === undefined) throw new ExperimentError(`${task.name} has no test sets`);
        const subnet = network.plan.space.heuristic();
        return bound.test(subnet, subnetCost(network.plan, subnet, { tokens }));
      }),
      search: fromPromise(async () => {
        const { bound, network, tokens } = need();
        const objective = bound.objective?.();
        if (objective === undefined) throw new ExperimentError(`${task.name} has no validation set to search on`);
        const plan = searchPlan as SearchPlan & { evaluators: EvaluatorChoice };
        const space = network.plan.space;
        const evaluators = await evaluatorsFor(plan.evaluators, objective);
        try {
          // As the official scripts log before searching: the maximal and heuristic subnets on the validation set.
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
          const cost = (subnet: Parameters<typeof subnetCost>[1]) => subnetCost(network.plan, subnet, { tokens });
          return await search({
            ...plan.search(space),
            macs: (subnet) => cost(subnet).macs / 1e6,
            weights: (subnet) => cost(subnet).weights,
            evaluators,
            outputDir,
            before,
            identity: {
              adapter: fingerprint(...(await Promise.all(network.trainableVariables().map((v) => v.data())))),
              'validation data and evaluation settings': objective.fingerprint,
              'search space': fingerprint(space.groups),
              'search settings': fingerprint({ ...nas().nncf.bootstrapNAS.search, num_evals: undefined }),
            },
            // The maximal subnet was just scored on the same set: the search's first evaluation.
            scored: [{ subnet: space.maximal(), accuracy: before.val_maximal_accuracy }],
            signal: abort.signal,
            events,
          });
        } finally {
          await evaluators.close();
        }
      }),
    },
  });

  // Events start after validation, a promise away: a caller that subscribes on return sees them all.
  const actor = createActor(machine, { input: phases }).start();
  const result = (async (): Promise<ExperimentOutcome> => {
    try {
      const outcome = await toPromise(actor);
      return { ...outcome, maxMacs };
    } finally {
      releaseOutputDir?.();
      events.complete();
    }
  })();
  return { events$: events.asObservable(), result, stop: () => actor.send({ type: 'STOP' }) };
}
