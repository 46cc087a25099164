import * as tf from '@tensorflow/tfjs-core';
import * as path from 'path';
import { selectBackend } from '../../src/backend';
import { hostGemm, jsGemm, type MatrixBlock } from '../../src/backend/host-gemm';
import { generate } from '../../src/eval/generate';
import { openCheckpoint } from '../../src/models/checkpoint';
import { readNasConfig } from '../../src/nas/nas-config';
import { openSuperNetwork } from '../../src/nas/open-super-network';
import { SeededRandom } from '../../src/util/seeded-random';
import { makeTinyCheckpoints } from '../support/tiny-checkpoints';

const configs = path.join(__dirname, '..', '..', 'configs', 'tiny');

describe('host decoding', () => {
  const tiny = makeTinyCheckpoints();
  afterAll(() => tiny.remove());

  it('multiplies strided blocks as the definition says, on OpenBLAS (where built) and in JS', () => {
    const random = new SeededRandom(4);
    const block = (rows: number, stride: number, offset: number): MatrixBlock => ({
      data: new Float32Array(random.normals(offset + rows * stride, 1)),
      offset,
      stride,
    });
    const [m, n, k] = [5, 7, 9];
    const a = block(m, k + 2, 3);
    const b = block(k, n + 4, 1);
    const expected = new Float64Array(m * n);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++)
        for (let p = 0; p < k; p++)
          expected[i * n + j] += a.data[a.offset + i * a.stride + p] * b.data[b.offset + p * b.stride + j];
    for (const gemm of [hostGemm, jsGemm]) {
      const c = { data: new Float32Array(2 + m * (n + 1)).fill(1), offset: 2, stride: n + 1 };
      gemm(m, n, k, a, b, c);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) expect(c.data[c.offset + i * c.stride + j]).toBeCloseTo(expected[i * n + j], 4);
        // Outside the block nothing is written.
        if (i < m - 1) expect(c.data[c.offset + i * c.stride + n]).toBe(1);
      }
      expect(c.data[0]).toBe(1);
    }
  });

  describe.each(['wasm', 'cpu'] as const)('on %s', (backend) => {
    beforeAll(() => selectBackend({ requested: backend, log: () => {} }));

    /** The tiny LLaMA as a super-network with trained-looking adapters, at a reduced subnetwork. */
    function elasticLlama() {
      const checkpoint = openCheckpoint(tiny.path('llama'));
      const { loaded, network } = openSuperNetwork(checkpoint, readNasConfig(path.join(configs, 'llama.json')), {
        seed: 2,
      });
      const random = new SeededRandom(2);
      for (const layer of network.layers.values()) {
        if (layer.loraB !== undefined)
          layer.loraB.assign(tf.tensor(random.normals(layer.loraB.size, 0.3), layer.loraB.shape));
      }
      if (loaded.kind !== 'causal-lm') throw new Error('expected a causal LM');
      return { model: loaded.model, network };
    }

    it('gives the sequences and scores of tfjs decoding: greedy and beams, padded prompts, reduced widths', async () => {
      const { model, network } = elasticLlama();
      const prompts = [
        [1, 270],
        [1, 275, 282, 100, 40],
        [1, 7, 9],
      ];
      const subnets = [
        network.plan.space.maximal(),
        network.plan.space.minimal(),
        network.plan.space.sample(new SeededRandom(9)),
      ];
      for (const subnet of subnets) {
        network.activate(subnet);
        expect(model.hostDecoding?.(3, 16)).toBeDefined();
        for (const numBeams of [1, 3]) {
          const options = { maxNewTokens: 8, numBeams, eosTokenIds: [] };
          const host = await generate(model, prompts, options);
          const tensors = await generate(model, prompts, { ...options, hostDecoding: false });
          expect(host.sequences).toEqual(tensors.sequences);
          host.scores.forEach((score, i) => expect(score).toBeCloseTo(tensors.scores[i], 4));
        }
      }
      model.dispose();
    });

    it('creates no tensors', async () => {
      const { model } = elasticLlama();
      const before = tf.memory().numTensors;
      await generate(model, [[1, 270, 275]], { maxNewTokens: 12, eosTokenIds: [] });
      await generate(model, [[1, 270, 275]], { maxNewTokens: 12, numBeams: 3, eosTokenIds: [] });
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    });

    it('is not offered while training dropout is on, and BLOOM decodes through tfjs', () => {
      const { model, network } = elasticLlama();
      network.setDropoutSeeds(() => 1);
      expect(model.hostDecoding?.(1, 8)).toBeUndefined();
      network.setDropoutSeeds(undefined);
      expect(model.hostDecoding?.(1, 8)).toBeDefined();
      model.dispose();
      const bloom = openSuperNetwork(
        openCheckpoint(tiny.path('bloom')),
        readNasConfig(path.join(configs, 'bloom.json')),
      );
      if (bloom.loaded.kind !== 'causal-lm') throw new Error('expected a causal LM');
      expect(bloom.loaded.model.hostDecoding).toBeUndefined();
      bloom.loaded.model.dispose();
    });

    it('names a token outside the vocabulary', async () => {
      const { model } = elasticLlama();
      await expect(generate(model, [[1, 100000]], { maxNewTokens: 2 })).rejects.toThrow(
        /token id 100000 is outside the vocabulary \[0, \d+\)/,
      );
      model.dispose();
    });
  });
});
