import type {
  EvaluationEvent,
  EvaluationProgressEvent,
  LonasEvent,
  SearchCandidateEvent,
  SearchQueueEvent,
} from '../../src/events';
import { describeEvent, describeSnapshot } from '../../src/live/describe';
import { LiveState, progressKey, type LiveSnapshot } from '../../src/live/live-state';

const result = (value: number, extra: Partial<EvaluationEvent> = {}): EvaluationEvent => ({
  type: 'eval.result',
  subnet: { 0: 32 },
  metric: 'accuracy',
  value,
  examples: 408,
  ...extra,
});

const progress = (done: number, extra: Partial<EvaluationProgressEvent> = {}): EvaluationProgressEvent => ({
  type: 'eval.progress',
  role: 'test',
  dataset: 'boolq',
  subnet: { 0: 32 },
  done,
  total: 100,
  ...extra,
});

const queue = (extra: Partial<SearchQueueEvent> = {}): SearchQueueEvent => ({
  type: 'search.queue',
  queue: 'lonas-eval',
  redis: 'redis://10.0.0.5:6379',
  waiting: 3,
  active: 2,
  workers: 2,
  ...extra,
});

const candidate = (evaluator?: string): SearchCandidateEvent => ({
  type: 'search.candidate',
  generation: 0,
  subnet: { 0: 32 },
  macs: 12.5,
  accuracy: 0.5,
  cached: false,
  ...(evaluator === undefined ? {} : { evaluator }),
});

describe('the live state of evaluations', () => {
  it('keeps the newest eval.result events, bounded, oldest first', () => {
    const state = new LiveState({}, 5000, 10);
    for (let i = 0; i < 25; i++) state.apply(result(i / 100, { role: 'super', epoch: i + 1 }));
    expect(state.current.evaluations.map((e) => e.epoch)).toEqual([...Array(10).keys()].map((i) => i + 16));
    expect(state.current.events).toBe(25);
    // The default bound is 1,000.
    const defaults = new LiveState();
    for (let i = 0; i < 1500; i++) defaults.apply(result(0.5));
    expect(defaults.current.evaluations).toHaveLength(1000);
  });

  it('keeps the latest eval.progress per role and dataset while it goes on, and drops it once done', () => {
    const state = new LiveState();
    state.apply(progress(10));
    state.apply(progress(20));
    state.apply(progress(5, { role: 'candidate', dataset: undefined, total: 8 }));
    state.apply(progress(30, { dataset: 'piqa' }));
    expect(state.current.evalProgress).toEqual({
      'test/boolq': progress(20),
      candidate: progress(5, { role: 'candidate', dataset: undefined, total: 8 }),
      'test/piqa': progress(30, { dataset: 'piqa' }),
    });
    state.apply(progress(100));
    state.apply(progress(8, { role: 'candidate', dataset: undefined, total: 8 }));
    expect(Object.keys(state.current.evalProgress)).toEqual(['test/piqa']);
    expect(progressKey({ role: 'candidate' })).toBe('candidate');
  });

  it("keeps the queue's latest figures, its warning only while there is one, and who scored each candidate", () => {
    const state = new LiveState();
    expect(state.current.queue).toBeUndefined();
    state.apply(queue({ workers: 0, warning: 'no worker connected' }));
    expect(state.current.queue).toEqual(queue({ workers: 0, warning: 'no worker connected' }));
    state.apply(queue());
    expect(state.current.queue).toEqual(queue());
    state.apply(candidate('host-1234'));
    state.apply(candidate());
    expect(state.current.candidates).toEqual([candidate('host-1234'), candidate()]);
  });

  it('adds its fields to the state without changing the others', () => {
    const state = new LiveState({ command: 'glue' });
    state.apply(result(0.8, { role: 'super', epoch: 1, split: 'matched' }));
    expect(JSON.parse(JSON.stringify(state.current))).toEqual({
      run: { command: 'glue' },
      steps: [],
      stages: [],
      candidates: [],
      front: [],
      hypervolumes: [],
      evaluations: [result(0.8, { role: 'super', epoch: 1, split: 'matched' })],
      evalProgress: {},
      events: 1,
      done: false,
    });
  });
});

describe('lonas watch lines for evaluations', () => {
  it('describes a result with its role, split and epoch', () => {
    expect(describeEvent(result(0.81234, { role: 'super', split: 'mismatched', epoch: 2 }))).toBe(
      'evaluated super (mismatched) after epoch 2: accuracy 0.8123 on 408 examples',
    );
    expect(describeEvent(result(0.5, { role: 'heuristic', split: 'boolq', examples: 3270 }))).toBe(
      'evaluated heuristic (boolq): accuracy 0.5000 on 3270 examples',
    );
    expect(describeEvent(result(0.25, { metric: 'loss', examples: 8 }))).toBe('evaluated: loss 0.2500 on 8 examples');
  });

  it('describes progress only once an evaluation is through, and never per search candidate', () => {
    expect(describeEvent(progress(50))).toBeUndefined();
    expect(describeEvent(progress(100))).toBe('test boolq: all 100 examples evaluated');
    expect(describeEvent(progress(408, { role: 'super', dataset: undefined, total: 408 }))).toBe(
      'super: all 408 examples evaluated',
    );
    expect(describeEvent(progress(8, { role: 'candidate', dataset: undefined, total: 8 }))).toBeUndefined();
  });

  it("describes the queue's figures, with its warning while there is one", () => {
    expect(describeEvent(queue())).toBe('queue lonas-eval at redis://10.0.0.5:6379: 3 waiting, 2 active, 2 workers');
    expect(describeEvent(queue({ waiting: 5, active: 0, workers: 0, warning: 'no worker connected' }))).toBe(
      'queue lonas-eval at redis://10.0.0.5:6379: 5 waiting, 0 active, 0 workers; no worker connected',
    );
    expect(describeEvent(queue({ workers: 1 }))).toBe(
      'queue lonas-eval at redis://10.0.0.5:6379: 3 waiting, 2 active, 1 worker',
    );
  });

  it('summarises the evaluations of a late joiner, and a state from a server without them', () => {
    const state = new LiveState({ command: 'commonsense' });
    const events: LonasEvent[] = [
      result(0.7, { role: 'val_maximal' }),
      result(0.6, { role: 'val_heuristic' }),
      progress(40),
      queue({ warning: 'Redis unreachable' }),
    ];
    for (const event of events) state.apply(event);
    expect(describeSnapshot(state.current)).toEqual([
      'run: {"command":"commonsense"}',
      '4 events so far',
      '2 evaluation results; last: evaluated val_heuristic: accuracy 0.6000 on 408 examples',
      'evaluating test boolq: 40/100 examples',
      'queue lonas-eval at redis://10.0.0.5:6379: 3 waiting, 2 active, 2 workers; Redis unreachable',
    ]);
    // A state from a server that predates the eval topic and the queue has none of these fields.
    const older: Partial<LiveSnapshot> = { ...state.current };
    delete older.evaluations;
    delete older.evalProgress;
    delete older.queue;
    expect(describeSnapshot(older as LiveSnapshot)).toEqual(['run: {"command":"commonsense"}', '4 events so far']);
  });
});
