/**
 * Two plug-ins a config names without any change to lonas: `lonas.plugins: ["<this file>"]`,
 * then `"search": {"algorithm": "front-mutation", "step": 1}` and
 * `"lonas": {"sampler": {"name": "hardest-again", "repeat_probability": 0.25}}`.
 */
import * as t from 'io-ts';
import { defineSampler, defineStrategy, samplerFromReducer, SeededRandom, type SubnetConfig } from 'lonas';

/**
 * A search strategy: a random first generation, then each generation mutates members of the
 * best accuracy-per-MAC half of everything seen, moving `step` genes by one choice.
 */
export const frontMutation = defineStrategy({
  name: 'front-mutation',
  settings: t.partial({ step: t.number }),
  create: ({ choices, population, seed, settings }) => {
    const random = new SeededRandom(seed);
    const seen = new Map<string, { genes: number[]; score: number }>();
    const step = settings.step ?? 1;
    const fresh = (genes: number[]) => !seen.has(genes.join(','));
    return {
      ask() {
        const asked: number[][] = [];
        const ranked = [...seen.values()].sort((a, b) => b.score - a.score);
        const parents = ranked.slice(0, Math.max(1, Math.ceil(ranked.length / 2)));
        for (let tries = 0; asked.length < population && tries < population * 50; tries++) {
          const genes =
            parents.length === 0
              ? choices.map((c) => random.below(c))
              : [...parents[random.below(parents.length)].genes];
          for (let s = 0; parents.length > 0 && s < step; s++) {
            const i = random.below(choices.length);
            genes[i] = Math.min(choices[i] - 1, Math.max(0, genes[i] + (random.below(2) === 0 ? -1 : 1)));
          }
          if (fresh(genes) && !asked.some((g) => g.join(',') === genes.join(','))) asked.push(genes);
        }
        return asked;
      },
      // Objectives are (MACs, -accuracy), both minimised.
      tell(genes, objectives) {
        genes.forEach((g, i) => seen.set(g.join(','), { genes: g, score: -objectives[i][1] / objectives[i][0] }));
      },
    };
  },
});

/** The subnet with the highest training loss reported so far, and that loss. */
interface Hardest {
  subnet: SubnetConfig;
  loss: number;
}

/**
 * A sampler that learns from training: uniform, but with `repeat_probability` it trains again
 * the subnet whose last reported loss was the highest.
 */
export const hardestAgain = defineSampler({
  name: 'hardest-again',
  settings: t.partial({ repeat_probability: t.number }),
  create: ({ space, seed, settings }) =>
    samplerFromReducer(
      (hardest: Hardest | undefined, event, random) => {
        const feedback = event.feedback;
        const harder =
          feedback !== undefined && (hardest === undefined || feedback.loss > hardest.loss)
            ? { subnet: feedback.subnet, loss: feedback.loss }
            : hardest;
        const repeat = harder !== undefined && random.uniform() < (settings.repeat_probability ?? 0.25);
        return { subnet: repeat ? harder.subnet : space.sample(random, event.widthIndicator), state: harder };
      },
      { seed, subnet: space.maximal() },
    ),
});
