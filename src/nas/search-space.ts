import type { SeededRandom } from '../util/seeded-random';

/**
 * One elastic group: modules that share one active width. A 'rank' group sets the LoRA rank of
 * its modules; a 'width' group sets their output width (base rows and LoRA B rows), and the
 * layers consuming their outputs follow on their input columns.
 */
export interface WidthGroup {
  kind: 'rank' | 'width';
  /** Hugging Face module paths. */
  modules: string[];
  /** Choices, largest first; the first is the full (pretrained or r_max) width. */
  widths: number[];
}

/** A subnetwork: for each group index, its active width. */
export type SubnetConfig = Record<number, number>;

/** A subnet as plain JSON, with the table of groups it refers to. */
export interface SubnetJson {
  groups: WidthGroup[];
  subnet: Record<string, number>;
}

export class SearchSpaceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SearchSpaceError';
  }
}

export class SearchSpace {
  readonly groups: WidthGroup[];

  constructor(groups: WidthGroup[]) {
    this.groups = groups.map((group, index) => {
      if (group.widths.length === 0 || group.modules.length === 0) {
        throw new SearchSpaceError(`group ${index} needs at least one module and one width`);
      }
      const bad = group.widths.find((w) => !Number.isInteger(w) || w < 1);
      if (bad !== undefined) throw new SearchSpaceError(`group ${index}: width ${bad} is not a positive integer`);
      // NNCF sorts each list in descending order; the first entry is the full width.
      return { ...group, widths: [...new Set(group.widths)].sort((a, b) => b - a) };
    });
  }

  /** The choices a group offers under a width indicator: its first min(N, length); -1 means all. */
  choices(index: number, widthIndicator = -1): number[] {
    const widths = this.groups[index].widths;
    if (widthIndicator === -1) return widths;
    if (!Number.isInteger(widthIndicator) || widthIndicator < 1) {
      throw new SearchSpaceError(`width_indicator must be -1 or a positive integer, got ${widthIndicator}`);
    }
    return widths.slice(0, Math.min(widthIndicator, widths.length));
  }

  private pick(choose: (choices: number[]) => number, widthIndicator: number): SubnetConfig {
    return Object.fromEntries(this.groups.map((_, i) => [i, choose(this.choices(i, widthIndicator))]));
  }

  maximal(widthIndicator = -1): SubnetConfig {
    return this.pick((c) => c[0], widthIndicator);
  }

  minimal(widthIndicator = -1): SubnetConfig {
    return this.pick((c) => c[c.length - 1], widthIndicator);
  }

  /** LoNAS's heuristic subnet: the middle choice v[(n - 1) // 2] of every full list. */
  heuristic(): SubnetConfig {
    return this.pick((c) => c[Math.floor((c.length - 1) / 2)], -1);
  }

  /** Each group independently uniform over its active choices. */
  sample(random: SeededRandom, widthIndicator = -1): SubnetConfig {
    return this.pick((c) => c[random.below(c.length)], widthIndicator);
  }

  /** The number of distinct subnets. */
  size(): number {
    return this.groups.reduce((n, g) => n * g.widths.length, 1);
  }

  /** Checks a subnet names every group once, each with one of its choices. */
  validate(subnet: Record<string | number, number>): SubnetConfig {
    const keys = Object.keys(subnet);
    const stray = keys.find((k) => !/^\d+$/.test(k) || Number(k) >= this.groups.length);
    if (stray !== undefined) {
      throw new SearchSpaceError(
        `subnet names group ${stray}, but the search space has groups 0-${this.groups.length - 1}`,
      );
    }
    const config: SubnetConfig = {};
    this.groups.forEach((group, i) => {
      const width = subnet[i];
      if (width === undefined)
        throw new SearchSpaceError(`subnet gives no width for group ${i} (${group.modules[0]}, ...)`);
      if (!group.widths.includes(width)) {
        throw new SearchSpaceError(
          `subnet gives group ${i} (${group.kind} of ${group.modules[0]}, ...) width ${width}, ` +
            `not one of its choices [${group.widths}]`,
        );
      }
      config[i] = width;
    });
    return config;
  }

  toJson(subnet: SubnetConfig): SubnetJson {
    return { groups: this.groups, subnet: Object.fromEntries(Object.entries(subnet).map(([k, v]) => [k, v])) };
  }
}
