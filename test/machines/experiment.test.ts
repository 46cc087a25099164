import { createActor, fromPromise, toPromise } from 'xstate';
import type { SearchResult } from '../../src/search/search-result';
import type { TrainResult } from '../../src/train/train-result';
import {
  experimentMachine,
  type ExperimentPhases,
  type LoadInput,
  type PhaseInput,
  type ValidateInput,
} from '../../machines/experiment';

/** The machine with phases that record their runs and inputs; `train` waits for a stop when asked to. */
function experiment(options: { failIn?: string; trainWaitsForStop?: boolean } = {}) {
  const ran: string[] = [];
  const inputs: Record<string, unknown> = {};
  const phase = <O, I extends { signal: AbortSignal }>(name: string, output: O) =>
    fromPromise<O, I>(async ({ input }) => {
      ran.push(name);
      inputs[name] = input;
      if (options.failIn === name) throw new Error(`${name} broke`);
      if (name === 'train' && options.trainWaitsForStop && !input.signal.aborted) {
        await new Promise((resolve) => input.signal.addEventListener('abort', resolve));
      }
      return output;
    });
  type Input = PhaseInput<string, number>;
  const trained: TrainResult = { epochs: 1, globalSteps: 4, interrupted: false, losses: [] };
  const machine = experimentMachine<{ name: string }, string, number>({
    validate: phase<string, ValidateInput<{ name: string }>>('validate', 'the plan'),
    load: phase<number, LoadInput<string>>('load', 42),
    train: phase<TrainResult, Input>('train', trained),
    eval: phase<Record<string, number>, Input>('eval', { eval_accuracy_super: 0.5 }),
    test: phase<Record<string, number | string>, Input>('test', { accuracy: 0.5 }),
    search: phase<SearchResult, Input>('search', { evaluated: 4 } as unknown as SearchResult),
  });
  const start = (phases: ExperimentPhases) =>
    createActor(machine, { input: { config: { name: 'settings' }, phases } }).start();
  return { start, ran, inputs };
}

const all: ExperimentPhases = { train: true, eval: true, test: true, search: true };

describe('the experiment machine', () => {
  it('runs validate -> load -> train -> eval -> test -> search, keeping each result', async () => {
    const { start, ran, inputs } = experiment();
    const output = await toPromise(start(all));
    expect(ran).toEqual(['validate', 'load', 'train', 'eval', 'test', 'search']);
    // Validation is handed the settings, loading the plan, every later phase the plan and the loaded model.
    expect(inputs.validate).toMatchObject({ config: { name: 'settings' } });
    expect(inputs.load).toMatchObject({ plan: 'the plan' });
    for (const phase of ['train', 'eval', 'test', 'search'])
      expect(inputs[phase]).toMatchObject({ plan: 'the plan', loaded: 42 });
    expect(output).toMatchObject({ plan: 'the plan', loaded: 42 });
    expect(output.status).toBe('done');
    expect(output.results).toMatchObject({
      train: { epochs: 1 },
      eval: { eval_accuracy_super: 0.5 },
      test: { accuracy: 0.5 },
      search: { evaluated: 4 },
    });
  });

  it('skips the phases not asked for', async () => {
    const { start, ran } = experiment();
    expect((await toPromise(start({ train: false, eval: false, test: true, search: false }))).status).toBe('done');
    expect(ran).toEqual(['validate', 'load', 'test']);
  });

  it('fails with the reason, and runs nothing after a failed validation', async () => {
    const { start, ran } = experiment({ failIn: 'validate' });
    const output = await toPromise(start(all));
    expect(output).toMatchObject({ status: 'failed', reason: 'validate broke' });
    expect(ran).toEqual(['validate']);
  });

  it('ends interrupted after a STOP during training, when training has wound down, with nothing after it', async () => {
    const { start, ran, inputs } = experiment({ trainWaitsForStop: true });
    const actor = start(all);
    await new Promise<void>((resolve) => {
      actor.subscribe((s) => {
        if (s.value === 'train') resolve();
      });
    });
    actor.send({ type: 'STOP' });
    const output = await toPromise(actor);
    expect(output.status).toBe('interrupted');
    expect(output.results.train).toMatchObject({ epochs: 1 });
    expect(ran).toEqual(['validate', 'load', 'train']);
    // The one stop mechanism: the signal every phase was handed is aborted.
    expect((inputs.train as { signal: AbortSignal }).signal.aborted).toBe(true);
  });
});
