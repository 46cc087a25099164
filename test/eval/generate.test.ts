import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend';
import { generate } from '../../src/eval/generate';
import type { CausalLM, CausalLMInput, CausalLMOutput } from '../../src/models/causal-lm';
import { loadCausalLM } from '../../src/models/registry';
import { LinearRegistry } from '../../src/nn/linear';
import { SeededRandom } from '../../src/util/seeded-random';
import { makeTinyCheckpoints } from '../support/tiny-checkpoints';

/** A model whose next-token distribution depends only on the current token: scores are exact. */
class MarkovLM implements CausalLM {
  readonly linears = new LinearRegistry();
  readonly config;

  constructor(
    private readonly logProbs: number[][],
    eosTokenIds: number[] = [],
  ) {
    this.config = { modelType: 'markov', vocabSize: logProbs.length, maxPositions: 1000, eosTokenIds };
  }

  static fromProbabilities(rows: number[][], eos?: number[]): MarkovLM {
    return new MarkovLM(
      rows.map((row) => row.map((p) => Math.log(p))),
      eos,
    );
  }

  forward({ inputIds }: CausalLMInput): CausalLMOutput {
    const ids = inputIds.arraySync();
    const last = ids.map((row) => this.logProbs[row[row.length - 1]]);
    // A fresh one-slot cache per call, as a real model returns, so beam search's reordering runs.
    const slot = () => tf.zeros([ids.length, 1, 1, 1]) as tf.Tensor4D;
    return { logits: tf.tensor3d(last.map((l) => [l])), cache: [{ key: slot(), value: slot() }] };
  }

  /** log p of `tokens` following `first`. */
  score(first: number, tokens: number[]): number {
    let previous = first;
    return tokens.reduce((sum, token) => {
      const s = sum + this.logProbs[previous][token];
      previous = token;
      return s;
    }, 0);
  }

  dispose(): void {}
}

/** All continuations of up to `length` tokens, scored as transformers' beam search scores them. */
function bruteForceBest(model: MarkovLM, prompt: number[], length: number, eos: number[]) {
  const vocab = model.config.vocabSize;
  let best = { tokens: [] as number[], score: -Infinity };
  const visit = (tokens: number[]) => {
    const ended = tokens.length > 0 && eos.includes(tokens[tokens.length - 1]);
    if (ended || tokens.length === length) {
      // Length counts the prompt and excludes a final EOS.
      const scoredLength = prompt.length + tokens.length - (ended ? 1 : 0);
      const score = model.score(prompt[prompt.length - 1], tokens) / scoredLength;
      if (score > best.score) best = { tokens, score };
      return;
    }
    for (let v = 0; v < vocab; v++) visit([...tokens, v]);
  };
  visit([]);
  return best;
}

function randomTable(seed: number, vocab: number): number[][] {
  const random = new SeededRandom(seed);
  return Array.from({ length: vocab }, () => {
    const weights = Array.from({ length: vocab }, () => random.uniform() + 0.05);
    const total = weights.reduce((a, b) => a + b, 0);
    return weights.map((w) => w / total);
  });
}

describe('generate', () => {
  beforeAll(() => selectBackend({ requested: 'wasm', log: () => {} }));

  it('finds the best sequence with beams where greedy does not', async () => {
    // From 0: greedy takes 0 (0.6) into a flat state; 1 (0.4) leads to a near-certain chain.
    const model = MarkovLM.fromProbabilities([
      [0.6, 0.4],
      [0.01, 0.99],
    ]);
    const greedy = await generate(model, [[0]], { maxNewTokens: 3 });
    const beams = await generate(model, [[0]], { maxNewTokens: 3, numBeams: 4 });
    const best = bruteForceBest(model, [0], 3, []);
    expect(greedy.sequences[0]).toEqual([0, 0, 0]);
    expect(beams.sequences[0]).toEqual(best.tokens);
    expect(beams.sequences[0]).toEqual([1, 1, 1]);
    expect(beams.scores[0]).toBeCloseTo(best.score, 6);
  });

  it.each([1, 2, 3, 4, 5])('returns the brute-force best beam on random tables (seed %i)', async (seed) => {
    // Vocabulary 2, 4 steps, 8 beams: nothing is pruned, so beam search must find the optimum.
    const model = new MarkovLM(randomTable(seed, 2).map((row) => row.map(Math.log)));
    const result = await generate(model, [[0, 1]], { maxNewTokens: 4, numBeams: 8 });
    const best = bruteForceBest(model, [0, 1], 4, []);
    expect(result.sequences[0]).toEqual(best.tokens);
    expect(result.scores[0]).toBeCloseTo(best.score, 6);
  });

  it.each([11, 12, 13])('scores EOS-ended hypotheses as transformers does (seed %i)', async (seed) => {
    const model = new MarkovLM(
      randomTable(seed, 3).map((row) => row.map(Math.log)),
      [2],
    );
    const result = await generate(model, [[0]], { maxNewTokens: 3, numBeams: 12 });
    const best = bruteForceBest(model, [0], 3, [2]);
    expect(result.sequences[0]).toEqual(best.tokens);
    expect(result.scores[0]).toBeCloseTo(best.score, 6);
  });

  it('stops a greedy row at EOS and keeps the EOS', async () => {
    const model = MarkovLM.fromProbabilities(
      [
        [0.1, 0.8, 0.1],
        [0.1, 0.1, 0.8],
        [0.4, 0.3, 0.3],
      ],
      [2],
    );
    expect((await generate(model, [[0]], { maxNewTokens: 10 })).sequences[0]).toEqual([1, 2]);
  });

  it('refuses beams it cannot fill without ending every one', async () => {
    const model = MarkovLM.fromProbabilities(
      [
        [0.1, 0.8, 0.1],
        [0.1, 0.1, 0.8],
        [0.4, 0.3, 0.3],
      ],
      [1, 2],
    );
    await expect(generate(model, [[0]], { maxNewTokens: 4, numBeams: 2 })).rejects.toThrow(
      'generate: 4 candidates hold fewer than 2 that do not end the sequence',
    );
  });

  describe('on the tiny LLaMA and BLOOM', () => {
    const tiny = makeTinyCheckpoints();
    afterAll(() => tiny.remove());

    /** Greedy decoding by recomputing the whole sequence each step: no cache, no padding. */
    function naiveGreedy(model: CausalLM, prompt: number[], steps: number): number[] {
      const tokens = [...prompt];
      for (let i = 0; i < steps; i++) {
        const next = tf.tidy(() => {
          const { logits } = model.forward({ inputIds: tf.tensor2d([tokens], undefined, 'int32') });
          return tf.argMax(tf.reshape(tf.slice(logits, [0, tokens.length - 1, 0], [1, 1, -1]), [-1])).dataSync()[0];
        });
        tokens.push(next);
      }
      return tokens.slice(prompt.length);
    }

    it.each(['llama', 'bloom'] as const)(
      '%s: one beam equals greedy, and both equal uncached decoding',
      async (family) => {
        const model = loadCausalLM(tiny.path(family));
        const prompt = [1, 270, 275, 40];
        const options = { maxNewTokens: 8, eosTokenIds: [] };
        const greedy = (await generate(model, [prompt], options)).sequences[0];
        expect((await generate(model, [prompt], { ...options, numBeams: 1 })).sequences[0]).toEqual(greedy);
        expect(greedy).toEqual(naiveGreedy(model, prompt, 8));
        model.dispose();
      },
    );

    it.each(['llama', 'bloom'] as const)(
      '%s: a left-padded batch gives each prompt what it gets alone',
      async (family) => {
        const model = loadCausalLM(tiny.path(family));
        const prompts = [
          [1, 270],
          [1, 275, 282, 100, 40],
          [1, 7, 9],
        ];
        for (const numBeams of [1, 3]) {
          const options = { maxNewTokens: 6, numBeams, eosTokenIds: [] };
          const batched = (await generate(model, prompts, options)).sequences;
          const alone: number[][] = [];
          for (const prompt of prompts) alone.push((await generate(model, [prompt], options)).sequences[0]);
          expect(batched).toEqual(alone);
        }
        model.dispose();
      },
    );

    it('keeps the tensor count flat across generated tokens', async () => {
      const model = loadCausalLM(tiny.path('llama'));
      const counts: number[] = [];
      const spy: CausalLM = {
        config: model.config,
        linears: model.linears,
        forward: (input) => {
          counts.push(tf.memory().numTensors);
          return model.forward(input);
        },
        dispose: () => model.dispose(),
      };
      const before = tf.memory().numTensors;
      await generate(spy, [[1, 270, 275]], { maxNewTokens: 12, eosTokenIds: [] });
      await generate(spy, [[1, 270, 275]], { maxNewTokens: 12, numBeams: 3, eosTokenIds: [] });
      expect(tf.memory().numTensors).toBe(before);
      // From the second step on, each step holds exactly the previous step's cache.
      const greedySteps = counts.slice(1, 12);
      expect(new Set(greedySteps).size).toBe(1);
      const beamSteps = counts.slice(13, 24);
      expect(new Set(beamSteps).size).toBe(1);
      model.dispose();
    });

    it('refuses prompts longer than the model allows, and empty prompts', async () => {
      const model = loadCausalLM(tiny.path('llama'));
      await expect(generate(model, [new Array(120).fill(5)], { maxNewTokens: 20 })).rejects.toThrow(
        "generate: a 120-token prompt plus 20 new tokens exceeds the model's 128 positions",
      );
      await expect(generate(model, [[]], { maxNewTokens: 2 })).rejects.toThrow('every prompt needs at least one token');
      model.dispose();
    });
  });
});
