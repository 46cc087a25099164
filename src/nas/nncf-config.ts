import * as t from 'io-ts';
import { ConfigError, decode } from '../config/decode';
import { describeUnknownKeys, unknownKeys } from '../config/unknown-keys';
import type { Architecture } from '../models/architecture';
import { SearchSpace, SearchSpaceError, type WidthGroup } from './search-space';

/**
 * An NNCF BootstrapNAS config as NNCF's schema (and LoNAS's patch of it) spells it, decoded as
 * written in the official configs (which lonas reads unchanged), plus lonas's own optional `lonas`
 * section. Every key NNCF knows is accepted, whether lonas uses it or not; any other is an error.
 */

const InputInfo = t.partial({ sample_size: t.array(t.number), keyword: t.string, type: t.string, filler: t.string });

const BatchnormAdaptation = t.partial({ num_bn_adaptation_samples: t.number });
const Scopes = t.union([t.string, t.array(t.string)]);

export const StageDescriptionJson = t.partial({
  train_dims: t.array(t.string),
  epochs: t.number,
  width_indicator: t.number,
  depth_indicator: t.number,
  init_lr: t.number,
  epochs_lr: t.number,
  sample_rate: t.number,
  reorg_weights: t.boolean,
  bn_adapt: t.boolean,
});

/** NNCF's global learning-rate schedule (`type` is lonas's, and may only say "cosine"). */
export const LrScheduleJson = t.partial({
  type: t.string,
  params: t.partial({ base_lr: t.number, num_epochs: t.number, warmup_epochs: t.number, warmup_lr: t.number }),
});

export const SearchSpaceRuleJson = t.intersection([
  t.type({ modules: t.array(t.string) }),
  t.partial({
    rank: t.array(t.number),
    width: t.array(t.number),
    widths: t.array(t.union([t.number, t.array(t.number)])),
  }),
]);

/**
 * `bootstrapNAS.search` as NNCF knows it (and `seed`, lonas's); the strategy's own settings codec
 * adds its keys (`searchSectionKeys`).
 */
export const NncfSearchJson = t.partial({
  algorithm: t.string,
  batchnorm_adaptation: BatchnormAdaptation,
  num_evals: t.number,
  num_constraints: t.number,
  population: t.number,
  crossover_prob: t.number,
  crossover_eta: t.number,
  mutation_prob: t.number,
  mutation_eta: t.number,
  acc_delta: t.number,
  ref_acc: t.number,
  aspiration_points: t.array(t.number),
  epsilon: t.number,
  weights: t.number,
  extreme_points_as_ref_points: t.boolean,
  compression: t.unknown,
  eval_metric_name: t.string,
  seed: t.number,
});

export const SamplerSectionJson = t.partial({ name: t.string });

/** Sections whose keys a plug-in's settings codec also defines: checked once the plug-in is known. */
const PLUGIN_SECTIONS = ['bootstrapNAS.search', 'lonas.sampler'];

const NncfConfigJson = t.intersection([
  t.type({
    bootstrapNAS: t.partial({
      training: t.partial({
        algorithm: t.string,
        progressivity_of_elasticity: t.array(t.string),
        batchnorm_adaptation: BatchnormAdaptation,
        schedule: t.partial({ list_stage_descriptions: t.array(StageDescriptionJson) }),
        elasticity: t.partial({
          available_elasticity_dims: t.array(t.string),
          depth: t.partial({
            skipped_blocks: t.array(t.array(t.string)),
            min_block_size: t.number,
            max_block_size: t.number,
            hw_fused_ops: t.boolean,
          }),
          width: t.partial({
            overwrite_groups: t.array(t.array(t.string)),
            overwrite_groups_widths: t.array(t.array(t.number)),
            add_dynamic_inputs: t.array(t.string),
            min_width: t.number,
            max_num_widths: t.number,
            width_step: t.number,
            width_multipliers: t.array(t.number),
            filter_importance: t.string,
            external_importance_path: t.string,
          }),
          kernel: t.partial({ max_num_kernels: t.number }),
          ignored_scopes: Scopes,
          target_scopes: Scopes,
        }),
        lr_schedule: LrScheduleJson,
        train_steps: t.number,
        frozen_layers_allowed: t.boolean,
        sandwich_rule: t.boolean,
      }),
      search: NncfSearchJson,
    }),
  }),
  t.partial({
    input_info: t.union([InputInfo, t.array(InputInfo)]),
    target_device: t.string,
    compression: t.unknown,
    accuracy_aware_training: t.unknown,
    compression_lr_multiplier: t.number,
    disable_shape_matching: t.boolean,
    log_dir: t.string,
    lonas: t.partial({
      target_modules: t.array(t.string),
      lora_r: t.number,
      lora_alpha: t.number,
      lora_dropout: t.number,
      modules_to_save: t.array(t.string),
      search_space: t.array(SearchSpaceRuleJson),
      /** The sampler's name; its other keys are its settings, checked by its own codec. */
      sampler: SamplerSectionJson,
      /** Modules that define strategies or samplers, relative to the config file. */
      plugins: t.array(t.string),
      /** Evaluator workers for the search (1: in this process). */
      eval_workers: t.number,
      /** Redis URL of a distributed search's queue, and the queue's name. */
      eval_queue: t.string,
      eval_queue_name: t.string,
    }),
  }),
]);

export type NncfConfig = t.TypeOf<typeof NncfConfigJson>;

export function decodeNncfConfig(json: unknown, source: string): NncfConfig {
  const config = decode(NncfConfigJson, json, source);
  rejectUnknownKeys(NncfConfigJson, json, source, PLUGIN_SECTIONS);
  return config;
}

/** An error naming every key of `value` (at `path`) that `codec` does not know, with the closest known one. */
export function rejectUnknownKeys(
  codec: t.Decoder<unknown, unknown>,
  value: unknown,
  source: string,
  open: string[] = [],
  path = '',
): void {
  const unknown = unknownKeys(codec, value, open, path);
  if (unknown.length > 0) throw new ConfigError(`${source}: ${describeUnknownKeys(unknown)}`);
}

/** Tokens per sequence NNCF traces with: input_info's sample_size [1, T]. */
export function tracedTokens(config: NncfConfig): number | undefined {
  const infos =
    config.input_info === undefined ? [] : Array.isArray(config.input_info) ? config.input_info : [config.input_info];
  const size = infos.find((i) => i.keyword === 'input_ids')?.sample_size ?? infos[0]?.sample_size;
  return size?.[size.length - 1];
}

/** What one NNCF node name addresses: a module path and which part of a LoRA layer. */
export interface NodeTarget {
  path: string;
  part: 'base' | 'lora_A' | 'lora_B';
}

/**
 * Maps an NNCF node name such as
 * `PeftModelForCausalLM/LoraModel[base_model]/LlamaForCausalLM[model]/LlamaModel[model]/
 * ModuleList[layers]/LlamaDecoderLayer[0]/LlamaMLP[mlp]/Linear[gate_proj]/ModuleDict[lora_A]/
 * NNCFLinear[default]/linear_0` to `model.layers.0.mlp.gate_proj`, part lora_A. The LoNAS PEFT
 * patch puts a LoRA layer's frozen base in `self_linear`.
 */
export function nodeTarget(node: string): NodeTarget | undefined {
  let names = node
    .split('/')
    .map((segment) => /\[([^\]]+)\]$/.exec(segment)?.[1])
    .filter((name): name is string => name !== undefined);
  // PEFT wraps the model as base_model.model.<module path>.
  if (names[0] === 'base_model' && names[1] === 'model') names = names.slice(2);
  for (const part of ['lora_A', 'lora_B', 'self_linear'] as const) {
    const at = names.indexOf(part);
    if (at > 0) return { path: names.slice(0, at).join('.'), part: part === 'self_linear' ? 'base' : part };
  }
  return names.length > 0 ? { path: names.join('.'), part: 'base' } : undefined;
}

/** The search space an NNCF config spells out with overwrite_groups and overwrite_groups_widths. */
export function searchSpaceFromNncf(config: NncfConfig, architecture: Architecture, source: string): SearchSpace {
  const width = config.bootstrapNAS.training?.elasticity?.width;
  const groups = width?.overwrite_groups;
  const widths = width?.overwrite_groups_widths;
  if (groups === undefined || widths === undefined) {
    throw new SearchSpaceError(`${source}: no bootstrapNAS.training.elasticity.width.overwrite_groups and _widths`);
  }
  if (groups.length !== widths.length) {
    throw new SearchSpaceError(
      `${source}: ${groups.length} overwrite_groups but ${widths.length} overwrite_groups_widths`,
    );
  }
  const known = new Set(architecture.linears.map((l) => l.path));
  const resolve = (node: string) => {
    const target = nodeTarget(node);
    if (target === undefined || !known.has(target.path)) {
      throw new SearchSpaceError(
        `${source}: NNCF node '${node}' maps to no linear layer of the ${architecture.modelType} model`,
      );
    }
    return target;
  };
  for (const node of width?.add_dynamic_inputs ?? []) resolve(node);
  const table: WidthGroup[] = groups.map((nodes, index) => {
    const targets = nodes.map(resolve);
    const ranks = targets.filter((n) => n.part === 'lora_A');
    if (ranks.length > 0 && ranks.length < targets.length) {
      throw new SearchSpaceError(
        `${source}: overwrite_groups[${index}] mixes LoRA A (rank) nodes with output-width nodes`,
      );
    }
    return {
      kind: ranks.length > 0 ? 'rank' : 'width',
      modules: [...new Set(targets.map((n) => n.path))],
      widths: widths[index],
    };
  });
  return new SearchSpace(table);
}
