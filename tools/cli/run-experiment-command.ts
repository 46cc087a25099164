import { Subject } from 'rxjs';
import type { LonasEvent, SearchQueueEvent } from '../../src/events';
import type { ExperimentConfig } from '../../actors/experiment/experiment-config';
import { runExperiment } from '../../actors/experiment/run-experiment';
import { showSearchProgress, showTrainingProgress } from '../../src/live/progress-bar';
import { startLive, type LiveFlagValues } from './live-flags';
import { runSummary } from './run-summary';

/** How the closing lines name what an evaluation scored. */
const ROLE_NAMES: Record<string, string> = {
  heuristic: 'heuristic subnet',
  super: 'super-network',
  minimum: 'minimum subnet',
  val_maximal: 'maximal subnet on the validation set',
  val_heuristic: 'heuristic subnet on the validation set',
};

/** Exit codes of a run a signal stopped, as a shell reports them (128 + the signal's number). */
const SIGNAL_EXIT: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Runs an experiment for a command: its events on stdout (--events), the live server (--live),
 * progress bars and one line per result on stderr, SIGINT/SIGTERM as a stop (a checkpoint, then
 * exit 130/143), and the closing summary. Resolves to the exit code.
 */
export async function runExperimentCommand(
  command: string,
  experiment: ExperimentConfig,
  show: { events: boolean; live: LiveFlagValues; runInfo: Record<string, unknown> },
): Promise<number> {
  // The live server listens before the run starts, so it sees every event.
  const relay = new Subject<LonasEvent>();
  const live = await startLive(relay, show.live, show.runInfo);
  const run = runExperiment(experiment);
  run.events$.subscribe(relay);
  const say = (line: string) => process.stderr.write(`lonas ${command}: ${line}\n`);
  // A distributed search's workers coming and going, and its warnings, each said once.
  let queueSaid = '';
  const queueLine = (event: SearchQueueEvent) => {
    const line = event.warning ?? `queue '${event.queue}': ${event.workers} worker(s) connected`;
    if (line !== queueSaid) say(line);
    queueSaid = line;
  };
  if (show.events) run.events$.subscribe((event) => process.stdout.write(`${JSON.stringify(event)}\n`));
  run.events$.subscribe((event) => {
    if (event.type === 'search.start' && event.discarded !== undefined) say(`discarded ${event.discarded}`);
    if (event.type === 'search.start' && event.cached > 0) say(`resuming the search: ${event.cached} subnets cached`);
    if (event.type === 'search.queue') queueLine(event);
    if (event.type === 'search.done' && event.endedEarly !== undefined)
      say(`the search ended early: ${event.endedEarly}`);
    if (event.type !== 'eval.result' || event.role === undefined || event.role === 'candidate') return;
    const where = [event.split, event.epoch === undefined ? undefined : `after epoch ${event.epoch}`].filter(Boolean);
    const what = ROLE_NAMES[event.role] ?? event.role;
    say(`${what}${where.length > 0 ? ` (${where.join(', ')})` : ''}: ${event.metric} ${event.value.toFixed(4)}`);
  });
  showTrainingProgress(run.events$);
  showSearchProgress(run.events$);
  let stoppedBy: keyof typeof SIGNAL_EXIT | undefined;
  const onSignal = (signal: keyof typeof SIGNAL_EXIT) => {
    // A second signal does not wait for the run to wind down.
    if (stoppedBy !== undefined) process.exit(SIGNAL_EXIT[signal]);
    stoppedBy = signal;
    say(`${signal}: stopping after the current step (send it again to exit at once)`);
    run.stop();
  };
  const onInterrupt = () => onSignal('SIGINT');
  const onTerminate = () => onSignal('SIGTERM');
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onTerminate);
  // Nothing left to wait on while the run is unfinished: a promise nobody will settle. Exit 0
  // would pass for success.
  const onIdle = () => {
    say('the run stopped making progress: something it awaits will never settle (a plug-in?)');
    process.exit(1);
  };
  process.on('beforeExit', onIdle);
  try {
    const outcome = await run.result;
    await live?.close();
    if (outcome.status === 'failed') {
      say(outcome.reason ?? 'the experiment failed');
      return 1;
    }
    if (outcome.status === 'interrupted') {
      say(`stopped by ${stoppedBy ?? 'a stop request'}; ${howToContinue(experiment)}`);
      return SIGNAL_EXIT[stoppedBy ?? 'SIGINT'];
    }
    process.stderr.write(runSummary(command, experiment.outputDir, outcome.results, outcome.maxMacs));
    return 0;
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onTerminate);
    process.off('beforeExit', onIdle);
  }
}

/** How a stopped run goes on: a training run from its checkpoint, a search from its caches. */
function howToContinue({ phases }: ExperimentConfig): string {
  if (phases.train) return '--resume continues from the last checkpoint';
  if (phases.search) return 'the same command resumes the search from its caches';
  return 'the same command runs it again';
}
