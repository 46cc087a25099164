import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as path from 'path';
import { selectBackend } from '../../src/backend';
import { hostGemmIsNative } from '../../src/backend/host-gemm';
import { blasAddon } from '../../src/backend/kernels/blas-addon';
import { tensorScoring } from '../../src/eval/tensor-scoring';
import type { BertForSequenceClassification } from '../../src/models/bert';
import { openCheckpoint } from '../../src/models/checkpoint';
import type { ScoringBatch } from '../../src/models/scoring';
import { readNasConfig } from '../../src/nas/nas-config';
import { openSuperNetwork } from '../../src/nas/open-super-network';
import type { SuperNetwork } from '../../src/nas/super-network';
import { glueTask } from '../../src/tasks/glue-task';
import { loadTokenizer } from '../../src/tokenizers/load-tokenizer';
import { SeededRandom } from '../../src/util/seeded-random';
import { describeUnless } from '../support/describe-unless';
import { makeTinyCheckpoints } from '../support/tiny-checkpoints';

const tinyBertNas = path.join(__dirname, '..', '..', 'configs', 'tiny', 'bert.json');

/** A batch of 16 positions a row from each row's mask: random ids where real, 0 where padding, two segments. */
function batchOf(masks: number[][]): ScoringBatch {
  const random = new SeededRandom(5);
  return {
    inputIds: masks.map((mask) => mask.map((real, t) => (real === 0 ? 0 : t === 0 ? 2 : 5 + random.below(40)))),
    attentionMask: masks,
    tokenTypeIds: masks.map((mask) => mask.map((real, t) => (real !== 0 && t >= 6 ? 1 : 0))),
  };
}

const rightPadded = (length: number) => Array.from({ length: 16 }, (_, t) => (t < length ? 1 : 0));

/** Three rows of 16, 5 and 9 real tokens, right-padded as GLUE's batches are. */
const PADDED = batchOf([rightPadded(16), rightPadded(5), rightPadded(9)]);

/** Row `r` of a right-padded batch alone, without its padding. */
function unpadded(batch: ScoringBatch, r: number): ScoringBatch {
  const length = batch.attentionMask[r].filter((m) => m === 1).length;
  return {
    inputIds: [batch.inputIds[r].slice(0, length)],
    attentionMask: [batch.attentionMask[r].slice(0, length)],
    tokenTypeIds: [batch.tokenTypeIds[r].slice(0, length)],
  };
}

function expectClose(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((value, i) =>
    expect(Math.abs(value - expected[i])).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(expected[i]))),
  );
}

describe.each(['wasm', 'cpu'] as const)('BERT host scoring on %s', (backend) => {
  const tiny = makeTinyCheckpoints();
  beforeAll(() => selectBackend({ requested: backend, log: () => {} }));
  afterAll(() => tiny.remove());

  /**
   * The tiny BERT as the tiny config's super-network, its LoRA B matrices seeded non-zero so the
   * adapters change the logits; `taskName` sizes the classifier as GLUE does (stsb: one output).
   */
  function elasticBert(taskName = 'mnli'): { model: BertForSequenceClassification; network: SuperNetwork } {
    const glue = glueTask({ kind: 'glue', taskName, datasetPath: tiny.folder, maxSeqLength: 16 });
    const checkpoint = openCheckpoint(tiny.path('bert'));
    const { loaded, network } = openSuperNetwork(
      glue.adaptCheckpoint?.(checkpoint) ?? checkpoint,
      readNasConfig(tinyBertNas),
      {
        seed: 3,
      },
    );
    if (loaded.kind !== 'sequence-classification') throw new Error('expected BERT');
    const random = new SeededRandom(3);
    for (const layer of network.layers.values()) {
      if (layer.loraB !== undefined) {
        layer.loraB.assign(tf.tensor(random.normals(layer.loraB.size, 0.3), layer.loraB.shape));
      }
    }
    return { model: loaded.model, network };
  }

  it('is offered where products run on OpenBLAS (without it, tfjs multiplies faster)', () => {
    const { model } = elasticBert();
    expect(model.hostScoring() !== undefined).toBe(hostGemmIsNative());
    model.dispose();
  });

  describeUnless(hostGemmIsNative() ? undefined : blasAddon().reason, 'against the tfjs forward', () => {
    /** The host logits of `batch`, checked against the tfjs forward's. */
    async function expectTfjsLogits(model: BertForSequenceClassification, batch: ScoringBatch): Promise<Float32Array> {
      const host = model.hostScoring();
      expect(host).toBeDefined();
      const logits = (await host?.logits(batch)) as Float32Array;
      expectClose(logits, await tensorScoring(model).logits(batch));
      return logits;
    }

    it('gives the tfjs logits of a padded batch at the maximal, minimal and a sampled subnet', async () => {
      const { model, network } = elasticBert();
      const { space } = network.plan;
      const logits: Float32Array[] = [];
      for (const subnet of [space.maximal(), space.minimal(), space.sample(new SeededRandom(11))]) {
        network.activate(subnet);
        logits.push(await expectTfjsLogits(model, PADDED));
      }
      expect(logits[0].length).toBe(3 * 3);
      // Fewer heads, a narrower MLP and a lower rank give other logits: the widths are applied.
      expect(Math.max(...logits[0].map((value, i) => Math.abs(value - logits[1][i])))).toBeGreaterThan(1e-3);
      model.dispose();
    });

    it('scores each row of a padded batch as it scores the row alone', async () => {
      const { model, network } = elasticBert();
      network.activate(network.plan.space.minimal());
      const batch = (await model.hostScoring()?.logits(PADDED)) as Float32Array;
      for (const r of [1, 2]) {
        const alone = (await model.hostScoring()?.logits(unpadded(PADDED, r))) as Float32Array;
        expectClose(batch.subarray(r * 3, (r + 1) * 3), alone);
      }
      model.dispose();
    });

    it('gives the tfjs logits where padding comes first, has holes, or fills a row', async () => {
      const { model, network } = elasticBert();
      network.activate(network.plan.space.sample(new SeededRandom(12)));
      const leftPadded = rightPadded(11).reverse();
      const holes = rightPadded(16).map((real, t) => (t % 3 === 2 ? 0 : real));
      await expectTfjsLogits(model, batchOf([leftPadded, holes, rightPadded(0), rightPadded(7)]));
      model.dispose();
    });

    it('gives the tfjs output of a regression head (STS-B)', async () => {
      const { model, network } = elasticBert('stsb');
      expect(model.config.numLabels).toBe(1);
      for (const subnet of [network.plan.space.maximal(), network.plan.space.minimal()]) {
        network.activate(subnet);
        expect((await expectTfjsLogits(model, PADDED)).length).toBe(3);
      }
      model.dispose();
    });

    it('is not offered while training dropout is on', () => {
      const { model, network } = elasticBert();
      network.setDropoutSeeds(() => 1);
      expect(model.hostScoring()).toBeUndefined();
      network.setDropoutSeeds(undefined);
      expect(model.hostScoring()).toBeDefined();
      model.dispose();
    });

    it('creates no tensors over repeated scoring', async () => {
      const { model, network } = elasticBert();
      const before = tf.memory().numTensors;
      for (let i = 0; i < 20; i++) {
        network.activate(network.plan.space.sample(new SeededRandom(i)));
        await model.hostScoring()?.logits(PADDED);
      }
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    });

    it('names a token id outside the vocabulary', async () => {
      const { model } = elasticBert();
      const batch = { inputIds: [[2, 100000]], attentionMask: [[1, 1]], tokenTypeIds: [[0, 0]] };
      await expect(model.hostScoring()?.logits(batch)).rejects.toThrow(
        /token id 100000 is outside the vocabulary \[0, \d+\)/,
      );
      model.dispose();
    });

    describe.each([
      ['rte', 'label', (i: number) => (i % 3 === 0 ? 'entailment' : 'not_entailment')],
      ['stsb', 'score', (i: number) => String((i * 7) % 6)],
    ])('GLUE %s', (taskName, column, label) => {
      const words = ['the', 'cat', 'sat', 'dog', 'ran', 'on', 'mat', 'a'];
      const sentence = (i: number, length: number) =>
        Array.from({ length }, (_, j) => words[(i * 5 + j * 3) % words.length]).join(' ');

      /** The task bound to a fresh tiny BERT, on a dev.tsv of 10 pairs of varied lengths. */
      function boundGlue() {
        const folder = path.join(tiny.folder, taskName);
        fs.mkdirSync(folder, { recursive: true });
        const rows = Array.from(
          { length: 10 },
          (_, i) => `${i}\t${sentence(i, 1 + (i % 5))}\t${sentence(i + 3, 1 + ((i * 2) % 7))}\t${label(i)}`,
        );
        fs.writeFileSync(path.join(folder, 'dev.tsv'), `index\tsentence1\tsentence2\t${column}\n${rows.join('\n')}\n`);
        const task = glueTask({ kind: 'glue', taskName, datasetPath: folder, maxSeqLength: 16 });
        const { model, network } = elasticBert(taskName);
        const bound = task.bind({
          loaded: { kind: 'sequence-classification', model },
          network,
          tokenizer: loadTokenizer(tiny.path('bert')),
          evalBatchSize: 4,
          emit: () => {},
          output: { writeJson: () => {}, mergeJson: () => {} },
          signal: new AbortController().signal,
        });
        return { model, network, bound };
      }

      it('reports the same metrics on the host path as through tfjs', async () => {
        const { model, network, bound } = boundGlue();
        const sampled = network.plan.space.sample(new SeededRandom(4));
        /** The eval phase's metrics (minimum and super-network) and the search objective of a sampled subnet. */
        const metrics = async (): Promise<Record<string, number>> => {
          if (bound.evaluate === undefined || bound.objective === undefined) throw new Error('GLUE evaluates');
          return { ...(await bound.evaluate()), objective: await bound.objective().score(sampled) };
        };
        const hostScoring = jest.spyOn(model, 'hostScoring');
        const onHost = await metrics();
        expect(hostScoring).toHaveBeenCalledTimes(3);
        expect(hostScoring.mock.results.every((result) => result.value !== undefined)).toBe(true);
        hostScoring.mockReturnValue(undefined);
        const throughTfjs = await metrics();
        expect(Object.keys(onHost).sort()).toEqual(Object.keys(throughTfjs).sort());
        for (const [metric, value] of Object.entries(throughTfjs)) expect(onHost[metric]).toBeCloseTo(value, 5);
        model.dispose();
      });
    });
  });
});
