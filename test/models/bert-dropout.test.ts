import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as path from 'path';
import { samplerNamed } from '../../actors/samplers/registry';
import { train, type TrainerInput } from '../../actors/trainer';
import { selectBackend } from '../../src/backend';
import { SafetensorsFile } from '../../src/io/safetensors';
import { bertConfig, type BertForSequenceClassification } from '../../src/models/bert';
import { openCheckpoint } from '../../src/models/checkpoint';
import { architectureFromConfig, buildModel, loadModel } from '../../src/models/registry';
import { elasticPlanFor, readNasConfig } from '../../src/nas/nas-config';
import { SuperNetwork } from '../../src/nas/super-network';
import { collate } from '../../src/train/batches';
import { stagesFrom } from '../../src/train/schedule';
import { taskLoss } from '../../src/train/task-loss';
import { loadTokenizer } from '../../src/tokenizers/load-tokenizer';
import { SeededRandom } from '../../src/util/seeded-random';
import { makeTinyCheckpoints } from '../support/tiny-checkpoints';
import { SENTENCES } from '../support/training';

/**
 * BERT's dropout in training, as transformers 4.31's BertForSequenceClassification: hidden
 * dropout after the embeddings and after each attention and FFN output dense, dropout on the
 * attention probabilities, and classifier dropout on the pooled output. Seeds come from the
 * trainer's generator; evaluation is untouched.
 */
describe('BERT dropout', () => {
  const tiny = makeTinyCheckpoints();
  const nasConfig = readNasConfig(path.join(__dirname, '..', '..', 'configs', 'tiny', 'bert.json'));
  beforeAll(() => selectBackend({ requested: 'wasm', log: () => {} }));
  afterAll(() => tiny.remove());

  type Dropouts = Partial<Record<'hidden_dropout_prob' | 'attention_probs_dropout_prob', number>> & {
    classifier_dropout?: number | null;
  };

  /** The tiny BERT with these dropout probabilities in its config.json. */
  function folderWith(name: string, dropouts: Dropouts): string {
    const folder = path.join(tiny.folder, name);
    if (!fs.existsSync(folder)) {
      fs.mkdirSync(folder);
      const config = JSON.parse(fs.readFileSync(path.join(tiny.path('bert'), 'config.json'), 'utf8'));
      fs.writeFileSync(path.join(folder, 'config.json'), JSON.stringify({ ...config, ...dropouts }));
      for (const file of fs.readdirSync(tiny.path('bert')).filter((f) => f !== 'config.json')) {
        fs.copyFileSync(path.join(tiny.path('bert'), file), path.join(folder, file));
      }
    }
    return folder;
  }

  function bert(name: string, dropouts: Dropouts): BertForSequenceClassification {
    const loaded = loadModel(folderWith(name, dropouts));
    if (loaded.kind !== 'sequence-classification') throw new Error('expected BERT');
    return loaded.model;
  }

  /** A seed sequence that counts its draws. */
  function seeds(seed: number): { next: () => number; drawn: number } {
    const random = new SeededRandom(seed);
    const counter = { drawn: 0, next: () => (counter.drawn++, random.below(2 ** 31)) };
    return counter;
  }

  const input = () => ({
    inputIds: tf.tensor2d(
      [
        [2, 40, 7, 9, 3, 0],
        [2, 11, 12, 3, 0, 0],
      ],
      undefined,
      'int32',
    ),
    attentionMask: tf.tensor2d(
      [
        [1, 1, 1, 1, 1, 0],
        [1, 1, 1, 1, 0, 0],
      ],
      undefined,
      'int32',
    ),
    tokenTypeIds: tf.tensor2d(
      [
        [0, 0, 0, 1, 1, 0],
        [0, 0, 1, 1, 0, 0],
      ],
      undefined,
      'int32',
    ),
  });
  const logits = (model: BertForSequenceClassification) => tf.tidy(() => model.forward(input())).dataSync();

  it("reads the probabilities as Hugging Face's BertConfig does", () => {
    const base = { vocab_size: 8, hidden_size: 4, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 8 };
    expect(bertConfig(base, 'c')).toMatchObject({ hiddenDropout: 0.1, attentionDropout: 0.1, classifierDropout: 0.1 });
    const set = { ...base, hidden_dropout_prob: 0.2, attention_probs_dropout_prob: 0.3, classifier_dropout: null };
    expect(bertConfig(set, 'c')).toMatchObject({ hiddenDropout: 0.2, attentionDropout: 0.3, classifierDropout: 0.2 });
    expect(bertConfig({ ...set, classifier_dropout: 0 }, 'c').classifierDropout).toBe(0);
    expect(() => bertConfig({ ...base, attention_probs_dropout_prob: 1 }, 'c')).toThrow(
      'attention_probs_dropout_prob must be in [0, 1), got 1',
    );
  });

  it('changes the training forward, the same way for the same seeds', () => {
    const model = bert('default', {});
    const evaluation = logits(model);
    const first = seeds(7);
    model.dropoutSeed = first.next;
    const training = logits(model);
    // One mask each: the embeddings, per layer the attention probabilities and the two hidden
    // dropouts, and the pooled output.
    expect(first.drawn).toBe(1 + 3 * model.config.layers + 1);
    model.dropoutSeed = seeds(7).next;
    const again = logits(model);
    model.dropoutSeed = seeds(8).next;
    const other = logits(model);
    model.dropoutSeed = undefined;
    expect(training).not.toEqual(evaluation);
    expect(again).toEqual(training);
    expect(other).not.toEqual(training);
    expect(logits(model)).toEqual(evaluation);
    model.dispose();
  });

  it('draws one seed per mask of each kind', () => {
    const drawn = (name: string, dropouts: Dropouts) => {
      const model = bert(name, dropouts);
      const counter = seeds(1);
      model.dropoutSeed = counter.next;
      logits(model);
      model.dispose();
      return counter.drawn;
    };
    const off = { hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, classifier_dropout: 0 };
    expect(drawn('hidden', { ...off, hidden_dropout_prob: 0.1 })).toBe(1 + 2 * 2);
    expect(drawn('attention', { ...off, attention_probs_dropout_prob: 0.1 })).toBe(2);
    expect(drawn('classifier', { ...off, classifier_dropout: 0.1 })).toBe(1);
    expect(drawn('classifier-null', { ...off, hidden_dropout_prob: 0.1, classifier_dropout: null })).toBe(
      1 + 2 * 2 + 1,
    );
  });

  it("leaves the eval forward alone, whatever the config's probabilities", () => {
    const outputs = (
      [
        ['default', {}],
        ['high', { hidden_dropout_prob: 0.5, attention_probs_dropout_prob: 0.4, classifier_dropout: 0.3 }],
        ['zero', { hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, classifier_dropout: 0 }],
      ] as const
    ).map(([name, dropouts]) => {
      const model = bert(name, dropouts);
      const out = logits(model);
      model.dispose();
      return out;
    });
    expect(outputs[1]).toEqual(outputs[0]);
    expect(outputs[2]).toEqual(outputs[0]);
  });

  it('with every probability 0, trains with the eval forward and draws no seeds', () => {
    const model = bert('zero', { hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, classifier_dropout: 0 });
    const evaluation = logits(model);
    const counter = seeds(3);
    model.dropoutSeed = counter.next;
    expect(logits(model)).toEqual(evaluation);
    expect(counter.drawn).toBe(0);
    model.dispose();
  });

  /** A BERT super-network whose setDropoutSeeds reaches the model. */
  function superNetwork(folder: string) {
    const checkpoint = openCheckpoint(folder);
    const loaded = buildModel(checkpoint);
    if (loaded.kind !== 'sequence-classification') throw new Error('expected BERT');
    const plan = elasticPlanFor(nasConfig, architectureFromConfig(checkpoint.config, checkpoint.location));
    return { model: loaded.model, loaded, network: new SuperNetwork(loaded.model.linears, plan, 0, loaded.model) };
  }

  it('takes its seeds from the super-network, keeps gradients and leaks no tensors', () => {
    const { model, network } = superNetwork(tiny.path('bert'));
    const labels = tf.tensor1d([0, 2], 'int32');
    const variables = network.trainableVariables();
    const gradients = () => {
      const { value, grads } = tf.variableGrads(() => model.loss(model.forward(input()), labels), variables);
      const norms = variables.map((v) => tf.tidy(() => tf.sum(tf.abs(grads[v.name])).dataSync()[0]));
      const loss = value.dataSync()[0];
      tf.dispose([value, ...Object.values(grads)]);
      return { loss, norms };
    };
    const evaluation = gradients();
    network.setDropoutSeeds(seeds(5).next);
    expect(model.dropoutSeed).toBeDefined();
    const before = tf.memory().numTensors;
    const training = gradients();
    expect(tf.memory().numTensors).toBe(before);
    network.setDropoutSeeds(seeds(5).next);
    expect(gradients()).toEqual(training);
    network.setDropoutSeeds(undefined);
    expect(model.dropoutSeed).toBeUndefined();
    expect(gradients()).toEqual(evaluation);
    expect(training.loss).not.toBe(evaluation.loss);
    expect(training.norms.every((n) => Number.isFinite(n))).toBe(true);
    // LoRA B starts at zero, so A's gradient does too; B and the classifier (saved in full) get one.
    expect(training.norms.filter((n) => n > 0).length).toBeGreaterThan(variables.length / 2);
    expect(training.norms).not.toEqual(evaluation.norms);
    labels.dispose();
    model.dispose();
  });

  describe('training resumes exactly with dropout on', () => {
    const tokenizer = loadTokenizer(tiny.path('bert'));
    const examples = Array.from({ length: 24 }, (_, i) => ({
      inputIds: tokenizer.addSpecialTokens(tokenizer.tokenize(SENTENCES[i % SENTENCES.length])).ids,
      label: i % 3,
    }));

    /** Trains the tiny BERT (default dropout 0.1) into `output`; `epochs` 2 unless told. */
    async function run(output: string, overrides: Partial<TrainerInput> = {}, folder = tiny.path('bert')) {
      const { loaded, network, model } = superNetwork(folder);
      let trainingSteps = 0;
      const loss = taskLoss(loaded);
      const losses: number[] = [];
      const result = await train({
        network,
        loss: (batch) => {
          if (model.dropoutSeed !== undefined) trainingSteps++;
          return loss(batch);
        },
        examples,
        collate: (batch) => collate(batch, { padTokenId: 0, paddingSide: 'right' }),
        stages: stagesFrom(nasConfig.nncf.bootstrapNAS.training?.schedule?.list_stage_descriptions, 'tiny'),
        sampler: samplerNamed('uniform')(network.plan.space, { seed: 0 }),
        batchSize: 4,
        gradientAccumulationSteps: 2,
        epochs: 2,
        seed: 3,
        outputDir: output,
        saveStrategy: 'epoch',
        adapter: { baseModel: folder, taskType: 'SEQ_CLS' },
        events: { next: (e) => e.type === 'train.step' && losses.push(e.loss) },
        ...overrides,
      });
      expect(trainingSteps).toBe(result.globalSteps - (overrides.resume ? 6 : 0));
      expect(model.dropoutSeed).toBeUndefined();
      model.dispose();
      return losses;
    }

    function adapter(folder: string): Map<string, Float32Array> {
      const file = SafetensorsFile.open(path.join(folder, 'adapter_model.safetensors'));
      return new Map([...file.entries.keys()].map((name) => [name, file.read(name).data as Float32Array]));
    }

    it('2 epochs uninterrupted equal 1 epoch and a resume, bit for bit', async () => {
      const uninterrupted = path.join(tiny.folder, 'uninterrupted');
      const referenceLosses = await run(uninterrupted);
      const resumed = path.join(tiny.folder, 'resumed');
      const firstEpoch = await run(resumed, { epochs: 1 });
      expect(firstEpoch).toEqual(referenceLosses.slice(0, 6));
      const rest = await run(resumed, { resume: true });
      expect(rest).toEqual(referenceLosses.slice(6));
      const reference = adapter(uninterrupted);
      expect(reference.size).toBeGreaterThan(0);
      expect(adapter(resumed)).toEqual(reference);
      // Without the model's dropout the same run trains differently.
      const off = { hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, classifier_dropout: 0 };
      const withoutDropout = await run(path.join(tiny.folder, 'off'), { epochs: 1 }, folderWith('train-off', off));
      expect(withoutDropout).not.toEqual(firstEpoch);
    });
  });
});
