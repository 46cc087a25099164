import { Subject } from 'rxjs';
import type { LonasEvent } from '../../src/events';
import { trainStep } from '../support/events';
import { showSearchProgress, showTrainingProgress } from '../../src/live/progress-bar';

const step = (globalStep: number): LonasEvent => trainStep(globalStep);

describe('the training progress bar', () => {
  it('draws on a terminal', () => {
    const frames: string[] = [];
    const events = new Subject<LonasEvent>();
    const stream = { isTTY: true, write: (text: string) => frames.push(text) } as unknown as NodeJS.WriteStream;
    showTrainingProgress(events, stream);
    events.next({ type: 'train.start', epochs: 1, stepsPerEpoch: 4, totalSteps: 4, examples: 16, globalStep: 0 });
    events.next(step(2));
    events.next({ type: 'train.done', epochs: 1, globalSteps: 4, interrupted: false });
    expect(frames[0]).toMatch(/^\r\[={15}> {14}\] {2}50% step 2\/4 epoch 1 stage 0 loss 2\.5000 lr 1\.00e-3$/);
    expect(frames[1]).toBe('\n');
  });

  it('stays silent when the output is not a terminal', () => {
    const frames: string[] = [];
    const events = new Subject<LonasEvent>();
    const stream = { isTTY: false, write: (text: string) => frames.push(text) } as unknown as NodeJS.WriteStream;
    expect(showTrainingProgress(events, stream)).toBeUndefined();
    events.next(step(1));
    expect(frames).toEqual([]);
  });

  it('counts search candidates and the best accuracy so far', () => {
    const frames: string[] = [];
    const events = new Subject<LonasEvent>();
    const stream = { isTTY: true, write: (text: string) => frames.push(text) } as unknown as NodeJS.WriteStream;
    showSearchProgress(events, stream);
    events.next({ type: 'search.start', algorithm: 'NSGA2', numEvals: 4, population: 2, cached: 0 });
    const candidate = (accuracy: number): LonasEvent => ({
      type: 'search.candidate',
      generation: 0,
      subnet: {},
      macs: 1,
      accuracy,
      cached: false,
    });
    events.next(candidate(0.5));
    events.next(candidate(0.25));
    events.next({
      type: 'search.done',
      best: { subnet: {}, macs: 1, accuracy: 0.5 },
      meetsReference: true,
      evaluated: 2,
    });
    expect(frames[0]).toMatch(/^\r\[={8}> {21}\] {2}25% search 1\/4 generation 0 best accuracy 0\.5000$/);
    expect(frames[1]).toMatch(/ 50% search 2\/4 generation 0 best accuracy 0\.5000$/);
    expect(frames[2]).toBe('\n');
  });
});
