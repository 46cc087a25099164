/**
 * Makes lonas's embedded default from nothing: the numbers task's datasets, a word-level
 * tokenizer, and a small LLaMA pretrained on a generated corpus. Everything is seeded.
 *
 *   npx ts-node tools/demo/make.ts
 *
 * writes tools/demo/data/ (train.json, datasets/<name>/test.json) and tools/demo/model/
 * (config.json, tokenizer.json, tokenizer_config.json, model.safetensors).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fixedSampler } from '../../actors/samplers/fixed';
import { train } from '../../actors/trainer';
import { selectBackend } from '../../src/backend';
import { packagePath } from '../../src/backend/build-artifacts';
import { trainingPrompt, evaluationPrompt, type InstructionRecord } from '../../src/data/llm-adapters';
import { writeFileAtomic } from '../../src/io/atomic-write';
import { SafetensorsFile } from '../../src/io/safetensors';
import { openCheckpoint } from '../../src/models/checkpoint';
import { fixedNetworkConfig } from '../../src/nas/nas-config';
import { openSuperNetwork } from '../../src/nas/open-super-network';
import { collate, type Example } from '../../src/train/batches';
import { taskLoss } from '../../src/train/task-loss';
import { loadTokenizer } from '../../src/tokenizers/load-tokenizer';
import type { TextTokenizer } from '../../src/tokenizers/text-tokenizer';
import { SeededRandom } from '../../src/util/seeded-random';
import { llamaCheckpoint, writeCheckpointFolder, type LlamaShape } from '../tiny-checkpoints/make';
import { corpusInstruction, corpusSentence, demoDatasets, splitPairs, type Pair } from './numbers-task';
import { wordTokenizerJson } from './word-tokenizer';

const SHAPE: LlamaShape = { hidden: 64, inner: 256, layers: 4, heads: 4, kvHeads: 4, maxPositions: 128 };
const SETTINGS = {
  seed: 7,
  trainRecordsPerDataset: 700,
  testPairs: 400,
  testRecordsPerDataset: 200,
  corpusSequences: 16000,
  sequenceTokens: 64,
  pretrainEpochs: 3,
  pretrainBatch: 32,
  pretrainLr: 3e-3,
};

/** The fine-tuning records (both formats, interleaved) and one test set per format. */
function makeDatasets(random: SeededRandom) {
  const pairs = splitPairs(random, SETTINGS.testPairs);
  const train: InstructionRecord[] = [];
  for (let i = 0; i < SETTINGS.trainRecordsPerDataset; i++) {
    for (const make of Object.values(demoDatasets))
      train.push(make(random, pairs.train[random.below(pairs.train.length)]));
  }
  const tests = Object.fromEntries(
    Object.entries(demoDatasets).map(([name, make]) => [
      name,
      pairs.test.slice(0, SETTINGS.testRecordsPerDataset).map((pair) => make(random, pair)),
    ]),
  );
  return { train, tests, pairs };
}

/**
 * The pretraining corpus: BOS-led sequences, each either plain sentences packed up to
 * `sequenceTokens` or one instruction in LoNAS's training prompt.
 */
function corpusExamples(random: SeededRandom, tokenizer: TextTokenizer, trainPairs: Pair[]): Example[] {
  const examples: Example[] = [];
  for (let i = 0; i < SETTINGS.corpusSequences; i++) {
    const ids = tokenizer.addSpecialTokens([]).ids;
    if (random.below(2) === 0) {
      const record = corpusInstruction(random, trainPairs);
      ids.push(...tokenizer.tokenize(trainingPrompt(record, record.output)), tokenizer.eosTokenId ?? 2);
    } else {
      for (;;) {
        const sentence = tokenizer.tokenize(corpusSentence(random));
        if (ids.length + sentence.length > SETTINGS.sequenceTokens) break;
        ids.push(...sentence);
      }
    }
    examples.push({ inputIds: ids });
  }
  return examples;
}

/**
 * Pretrains every linear layer in full (embeddings and norms keep their random values) with the
 * trainer actor: no adapters, no search space, each linear a module to save.
 */
async function pretrain(folder: string, examples: Example[], tokenizer: TextTokenizer): Promise<void> {
  const checkpoint = openCheckpoint(folder);
  const linears = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj', 'lm_head'];
  const { loaded, network } = openSuperNetwork(checkpoint, fixedNetworkConfig('pretraining'), {
    lora: { targetModules: [], modulesToSave: linears },
  });
  const outputDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lonas-pretrain-'));
  const epochs = SETTINGS.pretrainEpochs;
  const steps = Math.ceil(examples.length / SETTINGS.pretrainBatch);
  await train({
    network,
    loss: taskLoss(loaded),
    examples,
    collate: (batch) => collate(batch, { padTokenId: tokenizer.padTokenId ?? 0, paddingSide: 'right' }),
    stages: [
      {
        trainDims: ['width'],
        epochs,
        widthIndicator: 1,
        depthIndicator: 1,
        initLr: SETTINGS.pretrainLr,
        epochsLr: epochs,
        sampleRate: 1,
      },
    ],
    sampler: fixedSampler(network.plan.space, 0),
    batchSize: SETTINGS.pretrainBatch,
    gradientAccumulationSteps: 1,
    epochs,
    seed: SETTINGS.seed,
    outputDir,
    saveStrategy: 'no',
    adapter: { baseModel: folder, taskType: 'CAUSAL_LM' },
    events: {
      next: (event) => {
        if (event.type === 'train.step' && event.step % 50 === 0)
          process.stderr.write(
            `pretraining: epoch ${event.epoch + 1}/${epochs} step ${event.step}/${steps} loss ${event.loss.toFixed(4)}\n`,
          );
      },
    },
  });
  // The trained linears go back in PyTorch's [out, in] layout beside the untouched tensors.
  const original = SafetensorsFile.open(path.join(folder, 'model.safetensors'));
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const name of original.entries.keys()) {
    const { shape, data } = original.read(name);
    tensors[name] = { shape, data: data as Float32Array };
  }
  for (const [modulePath, { weight }] of network.savedModules) {
    const [inFeatures, outFeatures] = weight.shape;
    const transposed = tf.transpose(weight);
    tensors[`${modulePath}.weight`] = { shape: [outFeatures, inFeatures], data: transposed.dataSync() as Float32Array };
    transposed.dispose();
  }
  loaded.model.dispose();
  fs.rmSync(outputDir, { recursive: true, force: true });
  writeCheckpointFolder(folder, {
    config: checkpoint.config,
    tensors,
    tokenizer: JSON.parse(fs.readFileSync(path.join(folder, 'tokenizer.json'), 'utf8')),
  });
}

async function main(): Promise<void> {
  await selectBackend({});
  const random = new SeededRandom(SETTINGS.seed);
  const { train: records, tests, pairs } = makeDatasets(random);
  const dataDir = packagePath('tools', 'demo', 'data');
  const modelDir = packagePath('tools', 'demo', 'model');
  const writeJson = (file: string, value: unknown) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomic(file, `${JSON.stringify(value, null, 1)}\n`);
  };
  writeJson(
    path.join(dataDir, 'train.json'),
    records.map((r) => ({ ...r, input: '' })),
  );
  for (const [name, test] of Object.entries(tests)) {
    writeJson(
      path.join(dataDir, 'datasets', name, 'test.json'),
      test.map((r) => ({ ...r, input: '' })),
    );
  }

  const corpusRandom = new SeededRandom(SETTINGS.seed + 1);
  const texts = [
    ...records.map((r) => trainingPrompt(r, r.output)),
    ...Object.values(tests).flatMap((t) => t.map((r) => evaluationPrompt(r.instruction, 'commonsense'))),
    ...Array.from({ length: 2000 }, () => corpusSentence(corpusRandom)),
    ...Array.from({ length: 2000 }, () => {
      const record = corpusInstruction(corpusRandom, pairs.train);
      return trainingPrompt(record, record.output);
    }),
  ];
  const { tokenizer, config } = wordTokenizerJson(texts);
  writeCheckpointFolder(modelDir, llamaCheckpoint(new SeededRandom(SETTINGS.seed), SHAPE, tokenizer, 0.05));
  writeJson(path.join(modelDir, 'tokenizer_config.json'), config);
  const wordTokenizer = loadTokenizer(modelDir);
  await pretrain(
    modelDir,
    corpusExamples(new SeededRandom(SETTINGS.seed + 2), wordTokenizer, pairs.train),
    wordTokenizer,
  );
  process.stderr.write(`wrote ${modelDir} and ${dataDir}\n`);
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`${(error as Error).stack ?? error}\n`);
    process.exit(1);
  });
}
