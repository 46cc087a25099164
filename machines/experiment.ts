import { assign, fromPromise, setup } from 'xstate';
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

export interface ExperimentContext {
  phases: ExperimentPhases;
  results: ExperimentResults;
  /** A STOP arrived: the running phase winds down (training checkpoints) and nothing after it runs. */
  stopping: boolean;
  /** Why the experiment failed. */
  reason?: string;
  /** How it ended, once it has. */
  status?: 'done' | 'interrupted' | 'failed';
}

type Phase = 'train' | 'eval' | 'test' | 'search';
type PhaseActor<O> = ReturnType<typeof fromPromise<O, void>>;

const missing = <O>(name: string): PhaseActor<O> =>
  fromPromise<O, void>(async () => {
    throw new Error(`experiment: no '${name}' actor was provided`);
  });

/**
 * The lifecycle of an experiment: validate -> load -> train -> eval -> test -> search -> done,
 * skipping phases not asked for; `failed` with the reason, or `interrupted` after a STOP (the
 * phase running then finishes its own way — training writes a checkpoint — and no later phase
 * starts). Each step invokes an actor the caller provides with
 * `experimentMachine.provide({ actors: { validate, load, train, eval, test, search }, actions: { requestStop } })`:
 * `validate` checks every setting before anything loads; `requestStop` tells the running phase.
 */
export const experimentMachine = setup({
  types: {} as {
    context: ExperimentContext;
    input: ExperimentPhases;
    events: { type: 'STOP' };
    output: { status: 'done' | 'interrupted' | 'failed'; results: ExperimentResults; reason?: string };
  },
  actors: {
    validate: missing<void>('validate'),
    load: missing<void>('load'),
    train: missing<TrainResult>('train'),
    eval: missing<Record<string, number>>('eval'),
    test: missing<Record<string, number | string>>('test'),
    search: missing<SearchResult>('search'),
  },
  actions: {
    requestStop: () => {},
    fail: assign({ reason: ({ event }) => errorMessage((event as { error?: unknown }).error) }),
    // A phase's actor is invoked with the phase's name as id, so its done event names the phase.
    keep: assign({
      results: ({ context, event }) => ({
        ...context.results,
        [event.type.replace('xstate.done.actor.', '')]: (event as { output?: unknown }).output,
      }),
    }),
  },
  guards: {
    stopping: ({ context }) => context.stopping,
    skipped: ({ context }, params: { phase: Phase }) => !context.phases[params.phase],
  },
}).createMachine({
  id: 'experiment',
  context: ({ input }) => ({ phases: input, results: {}, stopping: false }),
  initial: 'validate',
  on: {
    STOP: { guard: ({ context }) => !context.stopping, actions: [assign({ stopping: true }), 'requestStop'] },
  },
  output: ({ context }) => ({
    status: context.status ?? 'failed',
    results: context.results,
    reason: context.reason,
  }),
  states: {
    validate: {
      invoke: {
        src: 'validate',
        onDone: [{ guard: 'stopping', target: 'interrupted' }, { target: 'load' }],
        onError: { target: 'failed', actions: 'fail' },
      },
    },
    load: {
      invoke: {
        src: 'load',
        onDone: [{ guard: 'stopping', target: 'interrupted' }, { target: 'train' }],
        onError: [
          { guard: 'stopping', target: 'interrupted' },
          { target: 'failed', actions: 'fail' },
        ],
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

/** A phase: skipped unless asked for; its output kept; after a STOP the experiment ends interrupted. */
function phaseState(phase: Phase, next: string) {
  return {
    always: { guard: { type: 'skipped', params: { phase } }, target: next },
    invoke: {
      id: phase,
      src: phase,
      onDone: [
        { guard: 'stopping', target: 'interrupted', actions: 'keep' },
        { target: next, actions: 'keep' },
      ],
      onError: [
        { guard: 'stopping', target: 'interrupted' },
        { target: 'failed', actions: 'fail' },
      ],
    },
  } as const;
}
