import { consumerOf, type Architecture, type LinearShape } from '../models/architecture';
import type { ActiveWidths, LoraSettings } from '../nn/elastic-linear';
import { SearchSpace, SearchSpaceError, type SubnetConfig } from './search-space';

/** Which layers get LoRA adapters, PEFT-style. */
export interface LoraPlan extends LoraSettings {
  /** Module names (`q_proj`) or path suffixes (`attention.self.query`), matched as PEFT does. */
  targetModules: string[];
  /** Layers trained in full and saved with the adapter (the classifier of sequence classification). */
  modulesToSave: string[];
}

/** PEFT's rule: a target matches a module whose path is the target or ends with "." + target. */
export function matchesModule(path: string, target: string): boolean {
  return path === target || path.endsWith(`.${target}`);
}

/**
 * A model's architecture, its LoRA plan and a search space, checked against each other once:
 * every group names real layers, rank groups name adapted layers and start at r_max, width
 * groups start at the layer's real width and have consumers that follow them. It then turns any
 * subnet into every layer's active widths.
 */
export class ElasticPlan {
  readonly shapes: Map<string, LinearShape>;
  /** Layers with an adapter. */
  readonly adapted: Set<string>;
  /** For each width-group producer, the layer whose inputs follow it. */
  private readonly consumers = new Map<string, string>();

  constructor(
    readonly architecture: Architecture,
    readonly lora: LoraPlan | undefined,
    readonly space: SearchSpace,
  ) {
    this.shapes = new Map(architecture.linears.map((l) => [l.path, l]));
    this.adapted = new Set();
    for (const target of lora?.targetModules ?? []) {
      const matched = architecture.linears.filter((l) => matchesModule(l.path, target));
      if (matched.length === 0) {
        throw new SearchSpaceError(
          `target module '${target}' matches no linear layer of the ${architecture.modelType} model`,
        );
      }
      for (const layer of matched) this.adapted.add(layer.path);
    }
    for (const name of lora?.modulesToSave ?? []) {
      if (!architecture.linears.some((l) => matchesModule(l.path, name))) {
        throw new SearchSpaceError(`module to save '${name}' matches no linear layer`);
      }
    }
    const seen = new Map<string, number>();
    const consumerGroup = new Map<string, number>();
    space.groups.forEach((group, index) => {
      const where = `group ${index} (${group.kind})`;
      for (const path of group.modules) {
        const shape = this.shapes.get(path);
        if (shape === undefined) throw new SearchSpaceError(`${where}: the model has no linear layer '${path}'`);
        const key = `${group.kind}:${path}`;
        if (seen.has(key)) throw new SearchSpaceError(`${where}: '${path}' is already in group ${seen.get(key)}`);
        seen.set(key, index);
        if (group.kind === 'rank') {
          if (!this.adapted.has(path))
            throw new SearchSpaceError(`${where}: '${path}' has no LoRA adapter (not a target module)`);
          if (group.widths[0] !== lora?.rank) {
            throw new SearchSpaceError(
              `${where}: ranks start at ${group.widths[0]}, but '${path}' has r = ${lora?.rank}`,
            );
          }
          continue;
        }
        if (group.widths[0] !== shape.outFeatures) {
          throw new SearchSpaceError(
            `${where}: widths start at ${group.widths[0]}, but '${path}' has ${shape.outFeatures} outputs ` +
              '(the first width must be the pretrained width)',
          );
        }
        const consumer = consumerOf(architecture, path);
        if (consumer === undefined || !this.shapes.has(consumer.path)) {
          throw new SearchSpaceError(
            `${where}: lonas knows no layer whose inputs follow '${path}', so its width cannot be elastic`,
          );
        }
        const misfit = group.widths.find((w) => consumer.multipleOf !== undefined && w % consumer.multipleOf !== 0);
        if (misfit !== undefined) {
          throw new SearchSpaceError(
            `${where}: width ${misfit} of '${path}' is not a multiple of ${consumer.multipleOf} (whole heads)`,
          );
        }
        const other = consumerGroup.get(consumer.path);
        if (other !== undefined && other !== index) {
          throw new SearchSpaceError(
            `${where}: '${consumer.path}' would follow both group ${other} and group ${index}`,
          );
        }
        consumerGroup.set(consumer.path, index);
        this.consumers.set(path, consumer.path);
      }
    });
  }

  /** The active widths of every layer under a subnet (validated against the space). */
  widthsFor(subnet: SubnetConfig): Map<string, ActiveWidths> {
    const valid = this.space.validate(subnet);
    const widths = new Map<string, ActiveWidths>();
    for (const shape of this.architecture.linears) {
      widths.set(shape.path, {
        inFeatures: shape.inFeatures,
        outFeatures: shape.outFeatures,
        rank: this.adapted.has(shape.path) ? (this.lora?.rank ?? 0) : 0,
      });
    }
    this.space.groups.forEach((group, index) => {
      const width = valid[index];
      for (const path of group.modules) {
        const layer = widths.get(path) as ActiveWidths;
        if (group.kind === 'rank') {
          layer.rank = width;
        } else {
          layer.outFeatures = width;
          (widths.get(this.consumers.get(path) as string) as ActiveWidths).inFeatures = width;
        }
      }
    });
    return widths;
  }
}
