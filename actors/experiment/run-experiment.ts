import { Subject, type Observable } from 'rxjs';
import { createActor, toPromise } from 'xstate';
import { experimentMachine, type ExperimentResults } from '../../machines/experiment';
import type { LonasEvent } from '../../src/events';
import { evalPhase } from './evaluate';
import { experimentConfig, type ExperimentConfig, type ExperimentSettings } from './experiment-config';
import { loadPhase } from './load';
import { searchPhase } from './search';
import { testPhase } from './test';
import { trainPhase } from './train';
import { validatePhase } from './validate';

/** What an experiment ended as, with each phase's result. */
export interface ExperimentOutcome {
  status: 'done' | 'interrupted' | 'failed';
  results: ExperimentResults;
  /** Why it failed. */
  reason?: string;
  /** The largest subnet's MACs in millions, once the model loaded. */
  maxMacs?: number;
}

/** A running experiment. */
export interface ExperimentHandle {
  /** Every event of the run, as it happens; completes when the run ends. */
  events$: Observable<LonasEvent>;
  /** Settles when the run has ended (it never rejects: failures are `status: 'failed'`). */
  result: Promise<ExperimentOutcome>;
  /**
   * Asks the run to stop: training checkpoints after its current micro-step, an evaluation stops
   * between batches, and nothing after the stopped phase runs (`status: 'interrupted'`).
   */
  stop(): void;
}

/**
 * Runs an experiment — validate -> load -> train -> eval -> test -> search — as the experiment
 * machine with lonas's phase actors, writing every output to `outputDir` (with `events.jsonl`).
 * Settings left out take the official defaults (`experimentConfig`); every setting is checked
 * before anything loads. Subscribe to `events$` before the run's first await to see every event
 * (a subscriber added later sees the rest).
 */
export function runExperiment(settings: ExperimentSettings | ExperimentConfig): ExperimentHandle {
  const config = experimentConfig(settings);
  const events = new Subject<LonasEvent>();
  const machine = experimentMachine({
    validate: validatePhase(events),
    load: loadPhase(events),
    train: trainPhase(events),
    eval: evalPhase(),
    test: testPhase(),
    search: searchPhase(events),
  });
  // Events start after validation, a promise away: a caller that subscribes on return sees them all.
  const actor = createActor(machine, { input: { config, phases: config.phases } }).start();
  const result = (async (): Promise<ExperimentOutcome> => {
    try {
      const { status, results, reason, loaded } = await toPromise(actor);
      return { status, results, ...(reason === undefined ? {} : { reason }), maxMacs: loaded?.maxMacs };
    } finally {
      actor.getSnapshot().context.plan?.releaseOutputDir();
      events.complete();
    }
  })();
  return { events$: events.asObservable(), result, stop: () => actor.send({ type: 'STOP' }) };
}
