import type { ActorLogic, EventObject, Snapshot } from 'xstate';
import type { SearchSpace, SubnetConfig } from '../../src/nas/search-space';

/** What the trainer sends a sampler: the scheduler's width indicator for this micro-step. */
export interface SampleEvent extends EventObject {
  type: 'SAMPLE';
  widthIndicator: number;
}

/** A sampler's state: the subnet it chose last, plus whatever it needs to choose the next. */
export interface SamplerState {
  subnet: SubnetConfig;
  /** Random generator state, saved in checkpoints so a resumed run samples the same subnets. */
  random: number;
  /** Samples drawn so far. */
  count: number;
}

/** A sampler is xstate actor logic: SAMPLE events in, a subnet in its snapshot's context out. */
export type SamplerLogic = ActorLogic<Snapshot<undefined> & { context: SamplerState }, SampleEvent>;

export interface SamplerOptions {
  seed: number;
  /** For `fixed`: the subnet; for `sandwich`: how many random subnets between max and min. */
  subnet?: SubnetConfig;
  randomSubnets?: number;
}

export type SamplerFactory = (space: SearchSpace, options: SamplerOptions) => SamplerLogic;
