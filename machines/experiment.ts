import { assign, fromPromise, setup } from 'xstate';

/** Which phases run, as the original scripts' --do_train, --do_eval, --do_test and --do_search say. */
export interface ExperimentInput {
  doTrain: boolean;
  doEval?: boolean;
  doTest: boolean;
  doSearch: boolean;
}

export interface ExperimentContext extends ExperimentInput {
  /** What `load` produced (model, network, data): the input of every later phase. */
  loaded?: unknown;
  results: { train?: unknown; eval?: unknown; test?: unknown; search?: unknown };
  /** Why the experiment failed. */
  reason?: string;
}

/**
 * A phase's actor from an async function of what `load` produced. (The machine sees every phase
 * as taking and giving `unknown`; each phase knows its own types.)
 */
export function experimentPhase<I, O>(run: (input: I) => Promise<O>) {
  return fromPromise<unknown, unknown>(({ input }) => run(input as I));
}

const missing = (name: string) =>
  fromPromise<unknown, unknown>(async () => {
    throw new Error(`experiment: no '${name}' actor was provided`);
  });

/**
 * The lifecycle of an experiment: load -> train -> eval -> test -> search -> done, skipping phases
 * not asked for, or failed with the reason. Each phase invokes an actor the caller provides with
 * `experimentMachine.provide({ actors: { load, train, eval, test, search } })`; each gets what
 * `load` produced as input.
 */
export const experimentMachine = setup({
  types: {} as { context: ExperimentContext; input: ExperimentInput },
  actors: {
    load: missing('load'),
    train: missing('train'),
    eval: missing('eval'),
    test: missing('test'),
    search: missing('search'),
  },
  actions: {
    fail: assign({
      reason: ({ event }) => {
        const error = (event as { error?: unknown }).error;
        return error instanceof Error ? error.message : String(error);
      },
    }),
  },
}).createMachine({
  id: 'experiment',
  context: ({ input }) => ({ ...input, results: {} }),
  initial: 'load',
  states: {
    load: {
      invoke: {
        src: 'load',
        onDone: { target: 'train', actions: assign({ loaded: ({ event }) => event.output }) },
        onError: { target: 'failed', actions: 'fail' },
      },
    },
    train: {
      always: { guard: ({ context }) => !context.doTrain, target: 'eval' },
      invoke: {
        src: 'train',
        input: ({ context }: { context: ExperimentContext }) => context.loaded,
        onDone: {
          target: 'eval',
          actions: assign({ results: ({ context, event }) => ({ ...context.results, train: event.output }) }),
        },
        onError: { target: 'failed', actions: 'fail' },
      },
    },
    eval: {
      always: { guard: ({ context }) => context.doEval !== true, target: 'test' },
      invoke: {
        src: 'eval',
        input: ({ context }: { context: ExperimentContext }) => context.loaded,
        onDone: {
          target: 'test',
          actions: assign({ results: ({ context, event }) => ({ ...context.results, eval: event.output }) }),
        },
        onError: { target: 'failed', actions: 'fail' },
      },
    },
    test: {
      always: { guard: ({ context }) => !context.doTest, target: 'search' },
      invoke: {
        src: 'test',
        input: ({ context }: { context: ExperimentContext }) => context.loaded,
        onDone: {
          target: 'search',
          actions: assign({ results: ({ context, event }) => ({ ...context.results, test: event.output }) }),
        },
        onError: { target: 'failed', actions: 'fail' },
      },
    },
    search: {
      always: { guard: ({ context }) => !context.doSearch, target: 'done' },
      invoke: {
        src: 'search',
        input: ({ context }: { context: ExperimentContext }) => context.loaded,
        onDone: {
          target: 'done',
          actions: assign({ results: ({ context, event }) => ({ ...context.results, search: event.output }) }),
        },
        onError: { target: 'failed', actions: 'fail' },
      },
    },
    done: { type: 'final' },
    failed: { type: 'final' },
  },
});
