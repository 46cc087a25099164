import * as t from 'io-ts';
import type { Architecture } from '../models/architecture';
import { matchesModule } from './elastic-plan';
import type { SearchSpaceRuleJson } from './nncf-config';
import { SearchSpace, SearchSpaceError, type WidthGroup } from './search-space';

type Rule = t.TypeOf<typeof SearchSpaceRuleJson>;

/** The block a layer belongs to: the first number in its path ("model.layers.3.mlp" -> 3). */
function blockOf(path: string): number | undefined {
  const match = /\.(\d+)\./.exec(path);
  return match === null ? undefined : Number(match[1]);
}

/**
 * lonas's short form of a search space: rules that expand to one group per block.
 *
 *   { "rank": [32, 28], "modules": ["q_proj", "k_proj", "v_proj"] }    shared LoRA rank per block
 *   { "width": [1, 0.875, 0.75], "modules": ["gate_proj", "up_proj"] }  output width x multipliers
 *   { "widths": [[768, 384], [768, 320]], "modules": ["query", "key", "value"] }  per-block lists
 *
 * `widths` may also be one flat list for every block. Groups come out rule by rule, block by block.
 */
export function searchSpaceFromRules(rules: Rule[], architecture: Architecture, source: string): SearchSpace {
  const groups: WidthGroup[] = [];
  rules.forEach((rule, r) => {
    const where = `${source}: search_space[${r}]`;
    const kinds = (['rank', 'width', 'widths'] as const).filter((k) => rule[k] !== undefined);
    if (kinds.length !== 1) throw new SearchSpaceError(`${where} needs exactly one of rank, width, widths`);
    const matched = architecture.linears.filter((l) => rule.modules.some((m) => matchesModule(l.path, m)));
    if (matched.length === 0)
      throw new SearchSpaceError(`${where}: modules ${JSON.stringify(rule.modules)} match no layer`);
    const blocks = [...new Set(matched.map((l) => blockOf(l.path)))];
    blocks.forEach((block, b) => {
      const members = matched.filter((l) => blockOf(l.path) === block);
      const modules = members.map((l) => l.path);
      if (rule.rank !== undefined) {
        groups.push({ kind: 'rank', modules, widths: rule.rank });
        return;
      }
      const out = members[0].outFeatures;
      if (members.some((l) => l.outFeatures !== out)) {
        throw new SearchSpaceError(`${where}: block ${block} mixes layers of different output widths`);
      }
      if (rule.width !== undefined) {
        groups.push({ kind: 'width', modules, widths: rule.width.map((m) => Math.round(out * m)) });
        return;
      }
      const lists = rule.widths as Array<number | number[]>;
      const perBlock = lists.every((w) => Array.isArray(w));
      if (perBlock && lists.length !== blocks.length) {
        throw new SearchSpaceError(`${where}: ${lists.length} width lists for ${blocks.length} blocks`);
      }
      groups.push({ kind: 'width', modules, widths: (perBlock ? lists[b] : lists) as number[] });
    });
  });
  return new SearchSpace(groups);
}
