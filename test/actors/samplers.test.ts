import { createActor } from 'xstate';
import { samplerNamed } from '../../actors/samplers/registry';
import type { SamplerState } from '../../actors/samplers/sampler';
import { SearchSpace } from '../../src/nas/search-space';
import { SeededRandom } from '../../src/util/seeded-random';

const space = new SearchSpace([
  { kind: 'rank', modules: ['a'], widths: [8, 6, 4] },
  { kind: 'width', modules: ['b'], widths: [64, 48, 32] },
]);

function draw(name: string, count: number, widthIndicator = -1, settings = {}) {
  const actor = createActor(samplerNamed(name)(space, { seed: 3, settings })).start();
  return Array.from({ length: count }, () => {
    actor.send({ type: 'SAMPLE', widthIndicator });
    return (actor.getSnapshot().context as SamplerState).subnet;
  });
}

describe('samplers', () => {
  it("uniform: a fresh subnet from each group's active choices, reproducible", () => {
    const subnets = draw('uniform', 300, 2);
    expect(draw('uniform', 300, 2)).toEqual(subnets);
    expect(new Set(subnets.map((s) => JSON.stringify(s))).size).toBe(4);
    expect(subnets.every((s) => [8, 6].includes(s[0]) && [64, 48].includes(s[1]))).toBe(true);
  });

  it('sandwich: max, min, then random subnets, in turn', () => {
    const subnets = draw('sandwich', 8, -1, { random_subnets: 2 });
    expect(subnets[0]).toEqual(space.maximal());
    expect(subnets[1]).toEqual(space.minimal());
    expect(subnets[4]).toEqual(space.maximal());
    expect(subnets[5]).toEqual(space.minimal());
  });

  it("uniform and sandwich draw their random subnets from SeededRandom(seed)'s stream, in order", () => {
    const random = new SeededRandom(3);
    expect(draw('uniform', 6)).toEqual(Array.from({ length: 6 }, () => space.sample(random, -1)));
    const sandwichRandom = new SeededRandom(3);
    const randomOnes = draw('sandwich', 12, -1, { random_subnets: 2 }).filter((_, i) => i % 4 >= 2);
    expect(randomOnes).toEqual(Array.from({ length: 6 }, () => space.sample(sandwichRandom, -1)));
  });

  it('fixed: always the same subnet (the max by default)', () => {
    expect(draw('fixed', 3)).toEqual([space.maximal(), space.maximal(), space.maximal()]);
    expect(draw('fixed', 2, -1, { subnet: { 0: 4, 1: 32 } })).toEqual([
      { 0: 4, 1: 32 },
      { 0: 4, 1: 32 },
    ]);
  });

  it('resume from a persisted snapshot with the same draws', () => {
    const logic = samplerNamed('uniform')(space, { seed: 9 });
    const actor = createActor(logic).start();
    for (let i = 0; i < 5; i++) actor.send({ type: 'SAMPLE', widthIndicator: -1 });
    const restored = createActor(logic, { snapshot: JSON.parse(JSON.stringify(actor.getPersistedSnapshot())) }).start();
    const next = (a: typeof actor) => {
      a.send({ type: 'SAMPLE', widthIndicator: -1 });
      return (a.getSnapshot().context as SamplerState).subnet;
    };
    for (let i = 0; i < 5; i++) expect(next(restored)).toEqual(next(actor));
  });

  it('names an unknown sampler and the known ones', () => {
    expect(() => samplerNamed('bayes')).toThrow(
      "lonas: lonas.sampler.name 'bayes' is not a sampler (known: uniform, sandwich, fixed)",
    );
    expect(() => samplerNamed('sandwich')(space, { seed: 0, settings: { random_subnets: 'two' } })).toThrow(
      `lonas: sampler 'sandwich' settings: 'random_subnets' must be number, got "two"`,
    );
  });
});
