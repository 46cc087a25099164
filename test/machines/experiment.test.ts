import { createActor, fromPromise, toPromise } from 'xstate';
import type { SearchResult } from '../../src/search/search-result';
import type { TrainResult } from '../../src/train/train-result';
import { experimentMachine, type ExperimentPhases } from '../../machines/experiment';

/** The machine with phases that record their runs; `train` waits for a stop when asked to. */
function experiment(options: { failIn?: string; trainWaitsForStop?: boolean } = {}) {
  const ran: string[] = [];
  let stopRequested: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (stopRequested = resolve));
  const phase = <O>(name: string, output: O) =>
    fromPromise<O, void>(async () => {
      ran.push(name);
      if (options.failIn === name) throw new Error(`${name} broke`);
      if (name === 'train' && options.trainWaitsForStop) await stopped;
      return output;
    });
  const trained: TrainResult = { epochs: 1, globalSteps: 4, interrupted: false, losses: [] };
  const machine = experimentMachine.provide({
    actions: { requestStop: () => stopRequested() },
    actors: {
      validate: phase<void>('validate', undefined),
      load: phase<void>('load', undefined),
      train: phase('train', trained),
      eval: phase<Record<string, number>>('eval', { eval_accuracy_super: 0.5 }),
      test: phase<Record<string, number | string>>('test', { accuracy: 0.5 }),
      search: phase('search', { evaluated: 4 } as unknown as SearchResult),
    },
  });
  return { machine, ran };
}

const all: ExperimentPhases = { train: true, eval: true, test: true, search: true };

describe('the experiment machine', () => {
  it('runs validate -> load -> train -> eval -> test -> search, keeping each result', async () => {
    const { machine, ran } = experiment();
    const actor = createActor(machine, { input: all }).start();
    const output = await toPromise(actor);
    expect(ran).toEqual(['validate', 'load', 'train', 'eval', 'test', 'search']);
    expect(output.status).toBe('done');
    expect(output.results).toMatchObject({
      train: { epochs: 1 },
      eval: { eval_accuracy_super: 0.5 },
      test: { accuracy: 0.5 },
      search: { evaluated: 4 },
    });
  });

  it('skips the phases not asked for', async () => {
    const { machine, ran } = experiment();
    const actor = createActor(machine, { input: { train: false, eval: false, test: true, search: false } }).start();
    expect((await toPromise(actor)).status).toBe('done');
    expect(ran).toEqual(['validate', 'load', 'test']);
  });

  it('fails with the reason, and runs nothing after a failed validation', async () => {
    const { machine, ran } = experiment({ failIn: 'validate' });
    const output = await toPromise(createActor(machine, { input: all }).start());
    expect(output).toMatchObject({ status: 'failed', reason: 'validate broke' });
    expect(ran).toEqual(['validate']);
  });

  it('ends interrupted after a STOP during training, when training has wound down, with nothing after it', async () => {
    const { machine, ran } = experiment({ trainWaitsForStop: true });
    const actor = createActor(machine, { input: all }).start();
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
  });

  it('names a phase nobody provided', async () => {
    const output = await toPromise(createActor(experimentMachine, { input: all }).start());
    expect(output).toMatchObject({ status: 'failed', reason: "experiment: no 'validate' actor was provided" });
  });
});
