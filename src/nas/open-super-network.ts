import type { Checkpoint } from '../models/checkpoint';
import { architectureFromConfig, buildModel, type LoadedModel } from '../models/registry';
import type { LoraPlan } from './elastic-plan';
import { elasticPlanFor, type NasConfig } from './nas-config';
import { SuperNetwork } from './super-network';

/**
 * Builds the model a checkpoint holds and turns it into the super-network a config describes:
 * the step every experiment starts with. `lora` overrides the config's adapter settings (flags);
 * `loraDefaults` stand where neither says (else the family's).
 */
export function openSuperNetwork(
  checkpoint: Checkpoint,
  config: NasConfig,
  options: { lora?: Partial<LoraPlan>; loraDefaults?: LoraPlan; seed?: number } = {},
): { loaded: LoadedModel; network: SuperNetwork } {
  const loaded = buildModel(checkpoint);
  const architecture = architectureFromConfig(checkpoint.config, checkpoint.location);
  const plan = elasticPlanFor(config, architecture, options.lora, options.loraDefaults);
  return { loaded, network: new SuperNetwork(loaded.model.linears, plan, options.seed ?? 0, loaded.model) };
}
