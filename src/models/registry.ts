import { withShapes, type Architecture } from './architecture';
import { bertArchitecture, bertConfig, BertForSequenceClassification } from './bert';
import { bloomArchitecture, bloomConfig, BloomForCausalLM } from './bloom';
import type { CausalLM } from './causal-lm';
import { openCheckpoint, type Checkpoint } from './checkpoint';
import { llamaArchitecture, llamaConfig, LlamaForCausalLM } from './llama';
import { CheckpointError, Weights, type WeightSource } from './weights';

export type LoadedModel =
  { kind: 'causal-lm'; model: CausalLM } | { kind: 'sequence-classification'; model: BertForSequenceClassification };

interface Family {
  /** The model's linear layers and width dependencies, from config.json alone. */
  architecture(config: Record<string, unknown>, source: string): Architecture;
  build(config: Record<string, unknown>, weights: WeightSource, source: string): LoadedModel;
}

/** A compressed model's config.json records the widths its layers were sliced to. */
const recordedShapes = (config: Record<string, unknown>) =>
  config.lonas_linear_shapes as Record<string, [number, number]> | undefined;

/** A family from its config decoder, its architecture and its builder. */
function family<C>(
  decodeConfig: (json: unknown, source: string) => C,
  architectureOf: (config: C) => Architecture,
  build: (config: C, weights: WeightSource, architecture: Architecture) => LoadedModel,
): Family {
  const architecture = (json: Record<string, unknown>, source: string) =>
    withShapes(architectureOf(decodeConfig(json, source)), recordedShapes(json));
  return {
    architecture,
    build: (json, weights, source) => build(decodeConfig(json, source), weights, architecture(json, source)),
  };
}

/** Architectures by Hugging Face `model_type`. */
export const modelRegistry: Record<string, Family> = {
  llama: family(llamaConfig, llamaArchitecture, (config, weights, architecture) => ({
    kind: 'causal-lm',
    model: LlamaForCausalLM.fromWeights(config, new Weights(weights, architecture.basePrefix), architecture),
  })),
  bloom: family(bloomConfig, bloomArchitecture, (config, weights, architecture) => ({
    kind: 'causal-lm',
    model: BloomForCausalLM.fromWeights(config, new Weights(weights, architecture.basePrefix), architecture),
  })),
  bert: family(bertConfig, bertArchitecture, (config, weights, architecture) => ({
    kind: 'sequence-classification',
    model: BertForSequenceClassification.fromWeights(
      config,
      new Weights(weights, architecture.basePrefix),
      architecture,
    ),
  })),
};

function familyOf(config: Record<string, unknown>, source: string): Family {
  const modelType = config.model_type;
  const family = typeof modelType === 'string' ? modelRegistry[modelType] : undefined;
  if (family === undefined) {
    throw new CheckpointError(
      `${source}: model_type ${JSON.stringify(modelType)} is not supported ` +
        `(supported: ${Object.keys(modelRegistry).join(', ')})`,
    );
  }
  return family;
}

/** A model's architecture from its config.json alone, no weights needed (for cost estimates). */
export function architectureFromConfig(config: Record<string, unknown>, source: string): Architecture {
  return familyOf(config, source).architecture(config, source);
}

/** Builds the model a checkpoint holds. */
export function buildModel(checkpoint: Checkpoint): LoadedModel {
  const source = checkpoint.folder === undefined ? checkpoint.location : `${checkpoint.folder}/config.json`;
  return familyOf(checkpoint.config, source).build(checkpoint.config, checkpoint.weights, source);
}

/** Loads a Hugging Face model folder or a llama2.c .bin checkpoint. */
export function loadModel(location: string): LoadedModel {
  return buildModel(openCheckpoint(location));
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
