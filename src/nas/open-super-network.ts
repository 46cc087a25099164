import type { Checkpoint } from '../models/checkpoint';
import { architectureFromConfig, buildModel, type LoadedModel } from '../models/registry';
import type { LoraPlan } from './elastic-plan';
import { elasticPlanFor, type NasConfig } from './nas-config';
import { SuperNetwork } from './super-network';

/**
 * Builds the model a checkpoint holds and turns it into the super-network a config describes:
 * the step every experiment starts with. `lora` overrides the config's adapter settings (flags).
 */
export function openSuperNetwork(
  checkpoint: Checkpoint,
  config: NasConfig,
  options: { lora?: Partial<LoraPlan>; seed?: number } = {},
): { loaded: LoadedModel; network: SuperNetwork } {
  const loaded = buildModel(checkpoint);
  const plan = elasticPlanFor(config, architectureFromConfig(checkpoint.config, checkpoint.location), options.lora);
  return { loaded, network: new SuperNetwork(loaded.model.linears, plan, options.seed ?? 0) };
}
