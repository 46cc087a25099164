import { assign, setup, type PromiseActorLogic } from 'xstate';
import type { TrainResult } from '../src/train/train-result';
import type { SearchResult } from '../src/search/search-result';
import { errorMessage } from '../src/util/error-message';

/** Which phases run, as the original scripts' --do_train, --do_eval, --do_test and --do_search say. */
export interface ExperimentPhases {
  train: boolean;
  eval: boolean;
  test: boolean;
  search: boolean;
}

export interface ExperimentResults {
  train?: TrainResult;
  /** GLUE's --do_eval metrics. */
  eval?: Record<string, number>;
  test?: Record<string, number | string>;
  search?: SearchResult;
}

/** What the machine starts with: the settings to validate, and the phases asked for. */
export interface ExperimentInput<Config> {
  config: Config;
  phases: ExperimentPhases;
}

/** What validation and loading are handed; `signal` aborts when a STOP arrives. */
export interface ValidateInput<Config> {
  config: Config;
  signal: AbortSignal;
}
export interface LoadInput<Plan> {
  plan: Plan;
  signal: AbortSignal;
}
/** What train, eval, test and search are handed: the checked plan and the loaded experiment. */
export interface PhaseInput<Plan, Loaded> {
  plan: Plan;
  loaded: Loaded;
  signal: AbortSignal;
}

/** The actor of each step: validation turns the settings into a plan, loading the plan into a model. */
export type ExperimentPhaseActors<Config, Plan, Loaded> = {
  validate: PromiseActorLogic<Plan, ValidateInput<Config>>;
  load: PromiseActorLogic<Loaded, LoadInput<Plan>>;
  train: PromiseActorLogic<TrainResult, PhaseInput<Plan, Loaded>>;
  eval: PromiseActorLogic<Record<string, number>, PhaseInput<Plan, Loaded>>;
  test: PromiseActorLogic<Record<string, number | string>, PhaseInput<Plan, Loaded>>;
  search: PromiseActorLogic<SearchResult, PhaseInput<Plan, Loaded>>;
};

export interface ExperimentContext<Config, Plan, Loaded> {
  config: Config;
  phases: ExperimentPhases;
  /** The validated plan, once validation is done. */
  plan?: Plan;
  /** The loaded model and task, once loading is done. */
  loaded?: Loaded;
  results: ExperimentResults;
  /** Aborted by a STOP: the running phase winds down (training checkpoints) and nothing after it runs. */
  abort: AbortController;
  /** Why the experiment failed. */
  reason?: string;
  /** How it ended, once it has. */
  status?: 'done' | 'interrupted' | 'failed';
}

export interface ExperimentOutput<Plan, Loaded> {
  status: 'done' | 'interrupted' | 'failed';
  results: ExperimentResults;
  reason?: string;
  plan?: Plan;
  loaded?: Loaded;
}

type Phase = 'train' | 'eval' | 'test' | 'search';

/**
 * The lifecycle of an experiment: validate -> load -> train -> eval -> test -> search -> done,
 * skipping phases not asked for; `failed` with the reason, or `interrupted` after a STOP (the
 * phase running then finishes its own way — training writes a checkpoint — and no later phase
 * starts). The context carries what the phases hand each other: validation's plan, loading's
 * model, each phase's result. One AbortSignal, aborted by STOP, reaches every phase.
 */
export function experimentMachine<Config, Plan, Loaded>(actors: ExperimentPhaseActors<Config, Plan, Loaded>) {
  type Context = ExperimentContext<Config, Plan, Loaded>;
  /** Where a step goes when it ends: its output kept, then `next` (after a STOP: interrupted); on an error, failed. */
  const ending = <K extends 'keep' | 'keepPlan' | 'keepLoaded'>(keep: K, next: string) =>
    ({
      onDone: [
        { guard: 'stopping', target: 'interrupted', actions: keep },
        { target: next, actions: keep },
      ],
      onError: [
        { guard: 'stopping', target: 'interrupted' },
        { target: 'failed', actions: 'fail' },
      ],
    }) as const;
  /** A phase: skipped unless asked for; handed the plan and the loaded model. */
  const phaseState = <P extends Phase>(phase: P, next: string) =>
    ({
      always: { guard: { type: 'skipped', params: { phase } }, target: next },
      invoke: {
        id: phase,
        src: phase,
        input: ({ context }: { context: Context }): PhaseInput<Plan, Loaded> => ({
          plan: context.plan as Plan,
          loaded: context.loaded as Loaded,
          signal: context.abort.signal,
        }),
        ...ending('keep', next),
      },
    }) as const;
  return setup({
    types: {} as {
      context: Context;
      input: ExperimentInput<Config>;
      events: { type: 'STOP' };
      output: ExperimentOutput<Plan, Loaded>;
    },
    actors,
    actions: {
      fail: assign({ reason: ({ event }) => errorMessage((event as { error?: unknown }).error) }),
      // A phase's actor is invoked with the phase's name as id, so its done event names the phase.
      keep: assign({
        results: ({ context, event }) => ({
          ...context.results,
          [event.type.replace('xstate.done.actor.', '')]: (event as { output?: unknown }).output,
        }),
      }),
      keepPlan: assign({ plan: ({ event }) => (event as { output?: Plan }).output }),
      keepLoaded: assign({ loaded: ({ event }) => (event as { output?: Loaded }).output }),
    },
    guards: {
      stopping: ({ context }) => context.abort.signal.aborted,
      skipped: ({ context }, params: { phase: Phase }) => !context.phases[params.phase],
    },
  }).createMachine({
    id: 'experiment',
    context: ({ input }) => ({ ...input, results: {}, abort: new AbortController() }),
    initial: 'validate',
    on: {
      STOP: {
        guard: ({ context }) => !context.abort.signal.aborted,
        actions: ({ context }) => context.abort.abort(new Error('the experiment was asked to stop')),
      },
    },
    output: ({ context }) => ({
      status: context.status ?? 'failed',
      results: context.results,
      reason: context.reason,
      plan: context.plan,
      loaded: context.loaded,
    }),
    states: {
      validate: {
        invoke: {
          src: 'validate',
          input: ({ context }) => ({ config: context.config, signal: context.abort.signal }),
          ...ending('keepPlan', 'load'),
        },
      },
      load: {
        invoke: {
          src: 'load',
          input: ({ context }) => ({ plan: context.plan as Plan, signal: context.abort.signal }),
          ...ending('keepLoaded', 'train'),
        },
      },
      train: phaseState('train', 'eval'),
      eval: phaseState('eval', 'test'),
      test: phaseState('test', 'search'),
      search: phaseState('search', 'done'),
      done: { type: 'final', entry: assign({ status: 'done' as const }) },
      interrupted: { type: 'final', entry: assign({ status: 'interrupted' as const }) },
      failed: { type: 'final', entry: assign({ status: 'failed' as const }) },
    },
  });
}
