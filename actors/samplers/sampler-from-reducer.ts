import { fromTransition } from 'xstate';
import type { SubnetConfig } from '../../src/nas/search-space';
import { SeededRandom } from '../../src/util/seeded-random';
import type { SampleEvent, SamplerLogic, SamplerState } from './sampler';

/** What a sampler's reducer returns: the subnet to train next, and its own state (when it keeps one). */
export type SampledSubnet<S> = { subnet: SubnetConfig } & (undefined extends S ? { state?: S } : { state: S });

/**
 * A sampler's choice logic: its own state, the SAMPLE event, the run's seeded generator (draw
 * from it, never from Math.random, so a resumed run samples the same subnets) and how many
 * samples were drawn before this one.
 */
export type SamplerReducer<S> = (state: S, event: SampleEvent, random: SeededRandom, drawn: number) => SampledSubnet<S>;

export type SamplerOptions<S> = {
  seed: number;
  /** The subnet before the first sample: the trainer activates it when the sampler starts. */
  subnet: SubnetConfig;
} & (undefined extends S ? { initial?: S } : { initial: S });

/**
 * A sampler from its choice logic alone. The generator's state, the sample count and the
 * reducer's state all live in the snapshot's context, which checkpoints save: a sampler restored
 * from a persisted snapshot continues the same stream of subnets.
 */
export function samplerFromReducer<S = undefined>(
  reducer: SamplerReducer<S>,
  options: SamplerOptions<S>,
): SamplerLogic {
  return fromTransition(
    // The context holds only what the reducer put there, so its state is the reducer's S.
    (context: SamplerState, event: SampleEvent): SamplerState => {
      const random = new SeededRandom(context.random);
      const choice = reducer(context.state as S, event, random, context.count);
      return { subnet: choice.subnet, random: random.state, count: context.count + 1, state: choice.state };
    },
    { subnet: options.subnet, random: new SeededRandom(options.seed).state, count: 0, state: options.initial },
  );
}
