import * as fs from 'fs';
import { HfCheckpoint } from '../io/hf-checkpoint';
import { readLlama2cCheckpoint } from '../io/llama2c-checkpoint';
import { bertConfig, BertForSequenceClassification } from './bert';
import { bloomConfig, BloomForCausalLM } from './bloom';
import type { CausalLM } from './causal-lm';
import { llamaConfig, LlamaForCausalLM } from './llama';
import { CheckpointError, Weights, type WeightSource } from './weights';

export type LoadedModel =
  { kind: 'causal-lm'; model: CausalLM } | { kind: 'sequence-classification'; model: BertForSequenceClassification };

type Builder = (config: Record<string, unknown>, weights: WeightSource, source: string) => LoadedModel;

/** Architectures by Hugging Face `model_type`. */
export const modelRegistry: Record<string, Builder> = {
  llama: (config, weights, source) => ({
    kind: 'causal-lm',
    model: LlamaForCausalLM.fromWeights(llamaConfig(config, source), new Weights(weights)),
  }),
  bloom: (config, weights, source) => ({
    kind: 'causal-lm',
    model: BloomForCausalLM.fromWeights(bloomConfig(config, source), new Weights(weights, 'transformer.')),
  }),
  bert: (config, weights, source) => ({
    kind: 'sequence-classification',
    model: BertForSequenceClassification.fromWeights(bertConfig(config, source), new Weights(weights, 'bert.')),
  }),
};

/** Loads a Hugging Face model folder or a llama2.c .bin checkpoint. */
export function loadModel(location: string): LoadedModel {
  if (!fs.existsSync(location)) throw new CheckpointError(`${location}: no such model folder or checkpoint file`);
  if (fs.statSync(location).isFile()) {
    if (!location.endsWith('.bin'))
      throw new CheckpointError(`${location}: a model is a Hugging Face folder or a llama2.c .bin file`);
    const { config, weights } = readLlama2cCheckpoint(location);
    return { kind: 'causal-lm', model: LlamaForCausalLM.fromWeights(config, new Weights(weights)) };
  }
  const checkpoint = HfCheckpoint.open(location);
  const modelType = checkpoint.config.model_type;
  const build = typeof modelType === 'string' ? modelRegistry[modelType] : undefined;
  if (build === undefined) {
    throw new CheckpointError(
      `${location}/config.json: model_type ${JSON.stringify(modelType)} is not supported ` +
        `(supported: ${Object.keys(modelRegistry).join(', ')})`,
    );
  }
  return build(checkpoint.config, checkpoint, `${location}/config.json`);
}

/** Loads a model that generates text (LLaMA, BLOOM). */
export function loadCausalLM(location: string): CausalLM {
  const loaded = loadModel(location);
  if (loaded.kind !== 'causal-lm') {
    loaded.model.dispose();
    throw new CheckpointError(`${location}: a ${loaded.model.config.modelType} model does not generate text`);
  }
  return loaded.model;
}
