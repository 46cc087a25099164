import type { ActorLogic, EventObject, Snapshot } from 'xstate';
import type { SubnetConfig } from '../../src/nas/search-space';

/**
 * What the trainer sends a sampler: the scheduler's width indicator for this micro-step, and how
 * the micro-steps since the last sample went (absent before the first), for samplers that adapt.
 */
export interface SampleEvent extends EventObject {
  type: 'SAMPLE';
  widthIndicator: number;
  feedback?: {
    /** The subnet sampled last. */
    subnet: SubnetConfig;
    /** Its mean training loss over the micro-steps since. */
    loss: number;
    /** Micro-steps of the run so far. */
    globalStep: number;
  };
}

/** A sampler's state: the subnet it chose last, plus whatever it needs to choose the next. */
export interface SamplerState {
  subnet: SubnetConfig;
  /** Random generator state, saved in checkpoints so a resumed run samples the same subnets. */
  random: number;
  /** Samples drawn so far. */
  count: number;
  /** The sampler's own state, as its reducer keeps it (see samplerFromReducer). */
  state?: unknown;
}

/** A sampler is xstate actor logic: SAMPLE events in, a subnet in its snapshot's context out. */
export type SamplerLogic = ActorLogic<Snapshot<undefined> & { context: SamplerState }, SampleEvent>;
