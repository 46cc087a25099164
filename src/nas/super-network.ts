import * as tf from '@tensorflow/tfjs-core';
import { ElasticLinear } from '../nn/elastic-linear';
import { Linear, type LinearRegistry } from '../nn/linear';
import { matchesModule, type ElasticPlan } from './elastic-plan';
import type { SubnetConfig } from './search-space';

/**
 * The model whose linear layers a super-network wraps. One with dropout of its own, outside the
 * linear layers (BERT), declares `dropoutSeed`: set in training, its masks take their seeds there.
 */
export interface DropoutModel {
  readonly linears: LinearRegistry;
  dropoutSeed?: () => number;
}

/**
 * A model turned into a LoNAS super-network: every linear layer becomes an ElasticLinear (with a
 * LoRA adapter where the plan targets it), the base stays frozen, and activating a subnet sets
 * every layer's active widths. Trainable: the adapters and the modules to save (their base
 * weights become variables).
 */
export class SuperNetwork {
  readonly layers = new Map<string, ElasticLinear>();
  /** The modules to save, trained in full, by module path. */
  readonly savedModules = new Map<string, { weight: tf.Variable; bias?: tf.Variable }>();
  private activeSubnet: SubnetConfig;

  constructor(
    readonly linears: LinearRegistry,
    readonly plan: ElasticPlan,
    seed = 0,
    /** The model `linears` belong to, for its own dropout in training. */
    private readonly model?: DropoutModel,
  ) {
    let adapter = 0;
    for (const shape of plan.architecture.linears) {
      const current = linears.get(shape.path);
      if (!(current instanceof Linear)) throw new Error(`'${shape.path}' is already wrapped`);
      const lora =
        plan.adapted.has(shape.path) && plan.lora !== undefined
          ? { ...plan.lora, initSeed: seed + adapter++ }
          : undefined;
      const base = plan.lora?.modulesToSave.some((m) => matchesModule(shape.path, m))
        ? this.trainable(current)
        : current;
      const layer = new ElasticLinear(base, lora);
      linears.replace(layer);
      this.layers.set(shape.path, layer);
    }
    this.activeSubnet = plan.space.maximal();
  }

  /** A module to save trains in full: its weight and bias become variables. */
  private trainable(layer: Linear): Linear {
    const weight = tf.variable(layer.weight, true);
    const bias = layer.bias === undefined ? undefined : tf.variable(layer.bias, true);
    layer.dispose();
    this.savedModules.set(layer.path, { weight, bias });
    return new Linear(layer.path, weight, bias);
  }

  get subnet(): SubnetConfig {
    return { ...this.activeSubnet };
  }

  /** Sets every layer's widths to those of `subnet` (an error names a bad group or width). */
  activate(subnet: SubnetConfig): void {
    const widths = this.plan.widthsFor(subnet);
    for (const [path, layer] of this.layers) layer.widths = widths.get(path) as typeof layer.widths;
    this.activeSubnet = this.plan.space.validate(subnet);
  }

  /** What the optimiser updates: LoRA A and B of every adapter, and the modules to save. */
  trainableVariables(): tf.Variable[] {
    const saved = [...this.savedModules.values()].flatMap(({ weight, bias }) =>
      bias === undefined ? [weight] : [weight, bias],
    );
    return [...[...this.layers.values()].flatMap((l) => l.adapterVariables()), ...saved];
  }

  /**
   * Training mode draws dropout masks (the adapters' and the model's own) with seeds from `seed`,
   * in forward order; undefined turns dropout off.
   */
  setDropoutSeeds(seed: (() => number) | undefined): void {
    for (const layer of this.layers.values()) layer.dropoutSeed = seed;
    if (this.model !== undefined) this.model.dropoutSeed = seed;
  }
}
