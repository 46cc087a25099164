import type { Observable, Subscription } from 'rxjs';
import type { LonasEvent } from '../events';

/**
 * A one-line progress bar for training on a terminal, redrawn on each step event; nothing at all
 * when the stream is not a TTY (logs and pipes get the events, not bar frames).
 */
export function showTrainingProgress(
  events: Observable<LonasEvent>,
  totalSteps: number,
  stream: NodeJS.WriteStream = process.stderr,
): Subscription | undefined {
  if (!stream.isTTY) return undefined;
  const width = 30;
  return events.subscribe((event) => {
    if (event.type === 'train.step') {
      const done = Math.min(1, event.globalStep / totalSteps);
      const filled = Math.round(done * width);
      const bar = `${'='.repeat(filled)}${filled < width ? '>' : ''}${' '.repeat(Math.max(0, width - filled - 1))}`;
      stream.write(
        `\r[${bar}] ${(done * 100).toFixed(0).padStart(3)}% step ${event.globalStep}/${totalSteps} ` +
          `epoch ${event.epoch + 1} stage ${event.stage} loss ${event.loss.toFixed(4)} lr ${event.lr.toExponential(2)}`,
      );
    } else if (event.type === 'train.done') {
      stream.write('\n');
    }
  });
}
