import { createActor } from 'xstate';
import type { SamplerLogic, SamplerState } from '../../actors/samplers/sampler';
import { samplerFromReducer } from '../../actors/samplers/sampler-from-reducer';
import { SearchSpace } from '../../src/nas/search-space';
import { SeededRandom } from '../../src/util/seeded-random';

const space = new SearchSpace([
  { kind: 'rank', modules: ['a'], widths: [8, 6, 4] },
  { kind: 'width', modules: ['b'], widths: [64, 48, 32] },
]);

const sample = (actor: { send(event: { type: 'SAMPLE'; widthIndicator: number }): void; getSnapshot(): unknown }) => {
  actor.send({ type: 'SAMPLE', widthIndicator: -1 });
  return (actor.getSnapshot() as { context: SamplerState }).context;
};

/** Uniform, but every third sample repeats the subnet drawn first: state, random and count together. */
const repeatFirst = (seed: number): SamplerLogic =>
  samplerFromReducer(
    (first: SamplerState['subnet'] | undefined, event, random, drawn) => {
      const subnet = first !== undefined && drawn % 3 === 2 ? first : space.sample(random, event.widthIndicator);
      return { subnet, state: first ?? subnet };
    },
    { seed, subnet: space.minimal() },
  );

describe('samplerFromReducer', () => {
  it('starts from the given subnet, before any sample', () => {
    const actor = createActor(repeatFirst(1)).start();
    expect((actor.getSnapshot().context as SamplerState).subnet).toEqual(space.minimal());
  });

  it('draws from the seeded generator, as SeededRandom(seed) would in the same order', () => {
    const actor = createActor(
      samplerFromReducer((_state, event, random) => ({ subnet: space.sample(random, event.widthIndicator) }), {
        seed: -7,
        subnet: space.maximal(),
      }),
    ).start();
    const random = new SeededRandom(-7);
    for (let i = 0; i < 20; i++) expect(sample(actor).subnet).toEqual(space.sample(random, -1));
  });

  it("threads the reducer's state and the count of samples drawn before", () => {
    const actor = createActor(repeatFirst(5)).start();
    const contexts = Array.from({ length: 9 }, () => sample(actor));
    expect(contexts.map((c) => c.count)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(contexts.every((c) => c.state === contexts[0].subnet)).toBe(true);
    for (const i of [2, 5, 8]) expect(contexts[i].subnet).toBe(contexts[0].subnet);
  });

  it('continues the same stream from a persisted snapshot (as a checkpoint stores it)', () => {
    const logic = repeatFirst(11);
    const actor = createActor(logic).start();
    for (let i = 0; i < 4; i++) sample(actor);
    const persisted = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
    const restored = createActor(logic, { snapshot: persisted }).start();
    for (let i = 0; i < 10; i++) expect(sample(restored)).toEqual(sample(actor));
  });
});
