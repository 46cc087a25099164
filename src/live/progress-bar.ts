import type { Observable, Subscription } from 'rxjs';
import type { LonasEvent } from '../events';

const WIDTH = 30;

/** `[=====>     ]  50% ` for a fraction done. */
function bar(done: number): string {
  const filled = Math.round(Math.min(1, done) * WIDTH);
  const body = `${'='.repeat(filled)}${filled < WIDTH ? '>' : ''}${' '.repeat(Math.max(0, WIDTH - filled - 1))}`;
  return `[${body}] ${(Math.min(1, done) * 100).toFixed(0).padStart(3)}%`;
}

/**
 * A one-line progress bar on a terminal, redrawn by `frame` for each event it returns a line for
 * and ended by the event `isLast` accepts; nothing at all when the stream is not a TTY (logs and
 * pipes get the events, not bar frames).
 */
function showProgress(
  events: Observable<LonasEvent>,
  stream: NodeJS.WriteStream,
  frame: (event: LonasEvent) => { done: number; text: string } | undefined,
  isLast: (event: LonasEvent) => boolean,
): Subscription | undefined {
  if (!stream.isTTY) return undefined;
  return events.subscribe((event) => {
    const drawn = frame(event);
    if (drawn !== undefined) stream.write(`\r${bar(drawn.done)} ${drawn.text}`);
    if (isLast(event)) stream.write('\n');
  });
}

/** Training: micro-steps out of the run's (from `train.start`), with epoch, stage, loss and learning rate. */
export function showTrainingProgress(
  events: Observable<LonasEvent>,
  stream: NodeJS.WriteStream = process.stderr,
): Subscription | undefined {
  let totalSteps = 1;
  return showProgress(
    events,
    stream,
    (event) => {
      if (event.type === 'train.start') totalSteps = event.totalSteps;
      return event.type === 'train.step'
        ? {
            done: event.globalStep / totalSteps,
            text:
              `step ${event.globalStep}/${totalSteps} epoch ${event.epoch + 1} stage ${event.stage} ` +
              `loss ${event.loss.toFixed(4)} lr ${event.lr.toExponential(2)}`,
          }
        : undefined;
    },
    (event) => event.type === 'train.done',
  );
}

/** Search: candidates evaluated out of `num_evals` (from `search.start`), with the best accuracy so far. */
export function showSearchProgress(
  events: Observable<LonasEvent>,
  stream: NodeJS.WriteStream = process.stderr,
): Subscription | undefined {
  let numEvals = 1;
  let evaluated = 0;
  let best = -Infinity;
  return showProgress(
    events,
    stream,
    (event) => {
      if (event.type === 'search.start') numEvals = event.numEvals;
      if (event.type !== 'search.candidate') return undefined;
      evaluated += 1;
      best = Math.max(best, event.accuracy);
      return {
        done: evaluated / numEvals,
        text: `search ${evaluated}/${numEvals} generation ${event.generation} best accuracy ${best.toFixed(4)}`,
      };
    },
    (event) => event.type === 'search.done',
  );
}
