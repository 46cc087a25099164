import * as path from 'path';
import { samplerNamed } from '../../actors/samplers/registry';
import type { TrainerInput } from '../../actors/trainer';
import { openCheckpoint } from '../../src/models/checkpoint';
import type { LoadedModel } from '../../src/models/registry';
import { readNasConfig } from '../../src/nas/nas-config';
import { openSuperNetwork } from '../../src/nas/open-super-network';
import type { SuperNetwork } from '../../src/nas/super-network';
import { collate, type Example } from '../../src/train/batches';
import { stagesFrom } from '../../src/train/schedule';
import { taskLoss } from '../../src/train/task-loss';
import { loadTokenizer } from '../../src/tokenizers/load-tokenizer';

export const SENTENCES = ['the cat sat on the mat', 'the dog ran', 'a cat is on a mat', 'the dog sat on a cat'];

/** A tiny LLaMA super-network and a trainer input for it, on a repetitive little corpus. */
export function tinyTraining(
  modelFolder: string,
  outputDir: string,
  overrides: Partial<TrainerInput> = {},
): { loaded: LoadedModel; network: SuperNetwork; input: TrainerInput; examples: Example[] } {
  const checkpoint = openCheckpoint(modelFolder);
  const config = readNasConfig(path.join(__dirname, '..', '..', 'configs', 'tiny', 'llama.json'));
  const { loaded, network } = openSuperNetwork(checkpoint, config);
  const tokenizer = loadTokenizer(modelFolder);
  const examples = Array.from({ length: 24 }, (_, i) => ({
    inputIds: tokenizer.addSpecialTokens(tokenizer.tokenize(SENTENCES[i % SENTENCES.length])).ids,
  }));
  const input: TrainerInput = {
    network,
    loss: taskLoss(loaded),
    examples,
    collate: (batch) => collate(batch, { padTokenId: 0, paddingSide: 'left', padToMultipleOf: 8 }),
    stages: stagesFrom(config.nncf.bootstrapNAS.training?.schedule?.list_stage_descriptions, 'tiny'),
    sampler: samplerNamed('uniform')(network.plan.space, { seed: 0 }),
    batchSize: 4,
    gradientAccumulationSteps: 2,
    epochs: 3,
    seed: 0,
    outputDir,
    saveStrategy: 'epoch',
    adapter: { baseModel: modelFolder, taskType: 'CAUSAL_LM' },
    ...overrides,
  };
  return { loaded, network, input, examples };
}

/** `count` boolq-style LLM-Adapters records ("is i even?"), true and false in turn. */
export function evenRecords(
  count: number,
): Array<{ instruction: string; input: string; output: string; answer: string }> {
  return Array.from({ length: count }, (_, i) => ({
    instruction: `is ${i} even? Answer format: true/false`,
    input: '',
    output: `the correct answer is ${i % 2 === 0 ? 'true' : 'false'}`,
    answer: i % 2 === 0 ? 'true' : 'false',
  }));
}
