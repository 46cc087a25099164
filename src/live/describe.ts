import type { LonasEvent, SearchQueueEvent } from '../events';
import type { LiveSnapshot } from './live-state';

const describeQueue = (event: SearchQueueEvent): string =>
  `queue ${event.queue} at ${event.redis}: ${event.waiting} waiting, ${event.active} active, ` +
  `${event.workers} worker${event.workers === 1 ? '' : 's'}${event.warning === undefined ? '' : `; ${event.warning}`}`;

/** One line for a terminal per event worth showing (undefined: not shown). */
export function describeEvent(event: LonasEvent): string | undefined {
  switch (event.type) {
    case 'train.step':
      return `epoch ${event.epoch + 1} step ${event.step} (${event.globalStep})  stage ${event.stage}  loss ${event.loss.toFixed(4)}  lr ${event.lr.toExponential(2)}  ${event.examplesPerSecond.toFixed(1)} ex/s`;
    case 'train.stage':
      return `stage ${event.stage} from epoch ${event.epoch + 1}: width_indicator ${event.widthIndicator}, sample_rate ${event.sampleRate}`;
    case 'train.epoch':
      return `epoch ${event.epoch + 1} done: mean loss ${event.meanLoss.toFixed(4)}`;
    case 'train.checkpoint':
      return `checkpoint ${event.folder} (${event.reason})`;
    case 'train.done':
      return `training ${event.interrupted ? 'interrupted' : 'done'} after ${event.globalSteps} steps`;
    case 'eval.result':
      return (
        `evaluated${event.role === undefined ? '' : ` ${event.role}`}${event.split === undefined ? '' : ` (${event.split})`}` +
        `${event.epoch === undefined ? '' : ` after epoch ${event.epoch}`}` +
        `: ${event.metric} ${event.value.toFixed(4)} on ${event.examples} examples`
      );
    case 'eval.progress':
      // Progress comes many times a second: a line only once an evaluation is through, and none
      // per search candidate (as for search.candidate).
      if (event.role === 'candidate' || event.done < event.total) return undefined;
      return `${event.role}${event.dataset === undefined ? '' : ` ${event.dataset}`}: all ${event.total} examples evaluated`;
    case 'search.candidate':
      return undefined;
    case 'search.queue':
      return describeQueue(event);
    case 'search.generation': {
      const best = [...event.front].sort((a, b) => b.accuracy - a.accuracy)[0];
      return (
        `generation ${event.generation + 1}: ${event.evaluated} evaluated, front of ${event.front.length}, ` +
        `hypervolume ${event.hypervolume.toExponential(3)}` +
        (best === undefined ? '' : `; most accurate ${best.accuracy.toFixed(4)} at ${best.macs.toFixed(1)} MMACs`)
      );
    }
    case 'search.done':
      return `search done: best ${event.best.macs.toFixed(1)} MMACs, accuracy ${event.best.accuracy.toFixed(4)}${event.meetsReference ? '' : ' (no subnet met the reference: the max subnet)'}`;
  }
}

/** A few lines summarising the state a late joiner receives. */
export function describeSnapshot(state: LiveSnapshot): string[] {
  const lines = [`run: ${JSON.stringify(state.run)}`, `${state.events} events so far`];
  const last = state.steps[state.steps.length - 1];
  if (last !== undefined) lines.push(`last step: ${describeEvent(last)}`);
  // Servers from before the eval topic send no evaluations.
  const evaluations = state.evaluations ?? [];
  const latest = evaluations[evaluations.length - 1];
  if (latest !== undefined) lines.push(`${evaluations.length} evaluation results; last: ${describeEvent(latest)}`);
  for (const progress of Object.values(state.evalProgress ?? {}))
    lines.push(
      `evaluating ${progress.role}${progress.dataset === undefined ? '' : ` ${progress.dataset}`}: ${progress.done}/${progress.total} examples`,
    );
  if (state.queue !== undefined) lines.push(describeQueue(state.queue));
  if (state.front.length > 0)
    lines.push(`front: ${state.front.map((p) => `${p.macs.toFixed(1)}/${p.accuracy.toFixed(3)}`).join(' ')}`);
  return lines;
}
