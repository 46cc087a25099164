import * as path from 'path';
import * as t from 'io-ts';
import { decode } from '../src/config/decode';
import type { SearchSpace } from '../src/nas/search-space';
import type { SearchStrategy } from '../src/search/strategy';
import { ExperimentError } from '../src/util/experiment-error';
import type { SamplerLogic } from './samplers/sampler';

/** What a search strategy is created with. */
export interface StrategyContext<S> {
  /** Choices per gene (group); gene i is an index in [0, choices[i] - 1]. */
  choices: number[];
  population: number;
  seed: number;
  space: SearchSpace;
  /** `bootstrapNAS.search`, decoded by the plug-in's `settings` codec. */
  settings: S;
}

/** What a sampler is created with. */
export interface SamplerContext<S> {
  space: SearchSpace;
  seed: number;
  /** `lonas.sampler`, decoded by the plug-in's `settings` codec. */
  settings: S;
}

export interface StrategyPlugin<S = unknown> {
  kind: 'strategy';
  /** The name a config gives as `bootstrapNAS.search.algorithm`. */
  name: string;
  /** Checks and types the plug-in's settings; a bad one is an error naming the field. */
  settings?: t.Type<S, unknown, unknown>;
  create(context: StrategyContext<S>): SearchStrategy;
}

export interface SamplerPlugin<S = unknown> {
  kind: 'sampler';
  /** The name a config gives as `lonas.sampler.name`. */
  name: string;
  settings?: t.Type<S, unknown, unknown>;
  /** xstate actor logic: SAMPLE events (with the last micro-step's loss) in, a subnet in its context out. */
  create(context: SamplerContext<S>): SamplerLogic;
}

// Plug-ins of every settings type live in one registry; each decodes its own settings.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Plugin = StrategyPlugin<any> | SamplerPlugin<any>;

/** A search strategy, as a plug-in module exports it. */
export function defineStrategy<S = Record<string, unknown>>(
  plugin: Omit<StrategyPlugin<S>, 'kind'>,
): StrategyPlugin<S> {
  return { kind: 'strategy', ...plugin };
}

/** A sampler, as a plug-in module exports it. */
export function defineSampler<S = Record<string, unknown>>(plugin: Omit<SamplerPlugin<S>, 'kind'>): SamplerPlugin<S> {
  return { kind: 'sampler', ...plugin };
}

const isPlugin = (value: unknown): value is Plugin =>
  typeof value === 'object' &&
  value !== null &&
  ((value as Plugin).kind === 'strategy' || (value as Plugin).kind === 'sampler') &&
  typeof (value as Plugin).name === 'string' &&
  typeof (value as Plugin).create === 'function';

/**
 * The plug-ins a module exports: the module itself (`module.exports = defineStrategy(...)`) or
 * any of its exports, `default` included (`export default ...` compiled to CommonJS); arrays of
 * them too.
 */
function exportedPlugins(module: unknown): Plugin[] {
  if (isPlugin(module)) return [module];
  const exported = typeof module === 'object' && module !== null ? Object.values(module) : [];
  return exported.flatMap((value) => (Array.isArray(value) ? value : [value])).filter(isPlugin);
}

/**
 * The strategies and samplers a run can name, each from where it was defined: lonas's own
 * (registered by the same define functions) and those of plug-in modules.
 */
export class PluginRegistry {
  private readonly entries = new Map<string, { plugin: Plugin; from: string }>();

  constructor(builtIn: Plugin[] = []) {
    for (const plugin of builtIn) this.add(plugin, 'lonas');
  }

  add(plugin: Plugin, from: string): void {
    const key = `${plugin.kind}:${plugin.name}`;
    const existing = this.entries.get(key);
    if (existing !== undefined && existing.plugin !== plugin) {
      throw new ExperimentError(`${from}: ${plugin.kind} '${plugin.name}' is already defined by ${existing.from}`);
    }
    this.entries.set(key, { plugin, from });
  }

  /** Loads a plug-in module (resolved against `base`) and registers every plug-in it exports. */
  load(file: string, base: string): void {
    const resolved = path.resolve(base, file);
    let module: unknown;
    try {
      // A plug-in is the user's module, found by path at run time.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      module = require(resolved);
    } catch (error) {
      throw new ExperimentError(`plug-in ${resolved}: cannot load it (${(error as Error).message.split('\n')[0]})`);
    }
    const plugins = exportedPlugins(module);
    if (plugins.length === 0) {
      throw new ExperimentError(
        `plug-in ${resolved}: exports no strategy or sampler (use defineStrategy or defineSampler)`,
      );
    }
    for (const plugin of plugins) this.add(plugin, resolved);
  }

  names(kind: Plugin['kind']): string[] {
    return [...this.entries.values()].filter((e) => e.plugin.kind === kind).map((e) => e.plugin.name);
  }

  strategy(name: string, where: string): StrategyPlugin<unknown> {
    return this.find(
      'strategy',
      name,
      where,
      'bootstrapNAS.search.algorithm',
      'a search algorithm',
    ) as StrategyPlugin<unknown>;
  }

  sampler(name: string, where: string): SamplerPlugin<unknown> {
    return this.find('sampler', name, where, 'lonas.sampler.name', 'a sampler') as SamplerPlugin<unknown>;
  }

  private find(kind: Plugin['kind'], name: string, where: string, field: string, what: string): Plugin {
    const entry = this.entries.get(`${kind}:${name}`);
    if (entry === undefined) {
      throw new ExperimentError(`${where}: ${field} '${name}' is not ${what} (known: ${this.names(kind).join(', ')})`);
    }
    return entry.plugin;
  }
}

/** A plug-in's settings, decoded by its codec: an error names the plug-in, the field and what it expected. */
export function pluginSettings<S>(
  plugin: { kind: string; name: string; settings?: t.Type<S, unknown, unknown> },
  value: unknown,
  where: string,
): S {
  if (plugin.settings === undefined) return value as S;
  return decode(plugin.settings, value ?? {}, `${where}: ${plugin.kind} '${plugin.name}' settings`);
}
