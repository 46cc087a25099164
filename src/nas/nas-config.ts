import * as fs from 'fs';
import { parseLenientJson } from '../config/lenient-json';
import type { Architecture } from '../models/architecture';
import { ElasticPlan, type LoraPlan } from './elastic-plan';
import { decodeNncfConfig, searchSpaceFromNncf, type NncfConfig } from './nncf-config';
import type { SearchSpace } from './search-space';
import { SearchSpaceError } from './search-space';
import { searchSpaceFromRules } from './search-space-rules';

/** A config file read: official NNCF configs unchanged, or lonas configs with a `lonas` section. */
export interface NasConfig {
  source: string;
  nncf: NncfConfig;
}

/** A config with an empty search space, for training without elasticity (`source` names it in errors). */
export function fixedNetworkConfig(source: string): NasConfig {
  return { source, nncf: { bootstrapNAS: {}, lonas: { search_space: [] } } as NncfConfig };
}

export function readNasConfig(file: string): NasConfig {
  if (!fs.existsSync(file)) throw new SearchSpaceError(`${file}: no such config file`);
  return { source: file, nncf: decodeNncfConfig(parseLenientJson(fs.readFileSync(file, 'utf8'), file), file) };
}

/** An NNCF config as a file, or as its JSON in an object (a script's own, written inline). */
export type NncfConfigSource = string | Record<string, unknown>;

/** Where errors name an inline config, and what its relative plug-in paths start from (the working folder). */
export const INLINE_NNCF_CONFIG = 'nncfConfig';

/** The config a file holds, or an inline one decoded the same way. */
export function nasConfigOf(source: NncfConfigSource): NasConfig {
  if (typeof source === 'string') return readNasConfig(source);
  return { source: INLINE_NNCF_CONFIG, nncf: decodeNncfConfig(source, INLINE_NNCF_CONFIG) };
}

/** LoNAS's adapter settings per family, used where neither the config nor a flag says otherwise. */
export const defaultLora: Record<string, LoraPlan> = {
  llama: {
    targetModules: ['q_proj', 'k_proj', 'v_proj', 'up_proj', 'gate_proj', 'down_proj'],
    rank: 32,
    alpha: 64,
    dropout: 0.1,
    modulesToSave: [],
  },
  bloom: {
    targetModules: ['query_key_value', 'dense_h_to_4h', 'dense_4h_to_h'],
    rank: 32,
    alpha: 64,
    dropout: 0.1,
    modulesToSave: [],
  },
  bert: { targetModules: ['query', 'value'], rank: 8, alpha: 16, dropout: 0.1, modulesToSave: ['classifier'] },
};

/**
 * Adapter settings: flags over the config's `lonas` section over `defaults` (a command's own, as
 * the official scripts' argparse defaults) over the family's.
 */
export function loraPlanFor(
  config: NasConfig,
  modelType: string,
  flags: Partial<LoraPlan> = {},
  defaults: LoraPlan = defaultLora[modelType] ?? {
    targetModules: [],
    rank: 8,
    alpha: 16,
    dropout: 0,
    modulesToSave: [],
  },
): LoraPlan {
  const section = config.nncf.lonas ?? {};
  const plan: LoraPlan = {
    targetModules: flags.targetModules ?? section.target_modules ?? defaults.targetModules,
    rank: flags.rank ?? section.lora_r ?? defaults.rank,
    alpha: flags.alpha ?? section.lora_alpha ?? defaults.alpha,
    dropout: flags.dropout ?? section.lora_dropout ?? defaults.dropout,
    modulesToSave: flags.modulesToSave ?? section.modules_to_save ?? defaults.modulesToSave,
  };
  if (!Number.isInteger(plan.rank) || plan.rank < 1)
    throw new SearchSpaceError(`lora r must be a positive integer, got ${plan.rank}`);
  if (plan.dropout < 0 || plan.dropout >= 1)
    throw new SearchSpaceError(`lora dropout must be in [0, 1), got ${plan.dropout}`);
  return plan;
}

/** The config's search space: lonas's short rules, or NNCF's explicit groups (not both). */
export function searchSpaceFor(config: NasConfig, architecture: Architecture): SearchSpace {
  const rules = config.nncf.lonas?.search_space;
  const groups = config.nncf.bootstrapNAS.training?.elasticity?.width?.overwrite_groups;
  if (rules !== undefined && groups !== undefined) {
    throw new SearchSpaceError(`${config.source}: give lonas.search_space or NNCF's overwrite_groups, not both`);
  }
  return rules !== undefined
    ? searchSpaceFromRules(rules, architecture, config.source)
    : searchSpaceFromNncf(config.nncf, architecture, config.source);
}

export function elasticPlanFor(
  config: NasConfig,
  architecture: Architecture,
  flags: Partial<LoraPlan> = {},
  loraDefaults?: LoraPlan,
): ElasticPlan {
  return new ElasticPlan(
    architecture,
    loraPlanFor(config, architecture.modelType, flags, loraDefaults),
    searchSpaceFor(config, architecture),
  );
}
