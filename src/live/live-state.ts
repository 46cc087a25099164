import type {
  EvaluationEvent,
  EvaluationProgressEvent,
  FrontPoint,
  LonasEvent,
  SearchCandidateEvent,
  SearchQueueEvent,
  StageEvent,
  TrainStepEvent,
} from '../events';

/** What a client that joins late receives first: the run so far, summarised. */
export interface LiveSnapshot {
  run: Record<string, unknown>;
  /** Recent training steps (loss and lr curves), oldest first. */
  steps: TrainStepEvent[];
  stages: StageEvent[];
  candidates: SearchCandidateEvent[];
  front: FrontPoint[];
  hypervolumes: number[];
  /** The newest eval.result events (at most `maxEvaluations`), oldest first. */
  evaluations: EvaluationEvent[];
  /**
   * Evaluations in progress: the latest eval.progress per role and dataset, keyed by
   * `progressKey` (`role`, or `role/dataset`, then `@worker-<i>` for an evaluator worker's); an
   * entry goes once its evaluation is done.
   */
  evalProgress: Record<string, EvaluationProgressEvent>;
  /** The latest search.queue (absent before a distributed search reports, as from older servers). */
  queue?: SearchQueueEvent;
  events: number;
  done: boolean;
}

/** The key of an evaluation in progress in `LiveSnapshot.evalProgress`. */
export const progressKey = (event: Pick<EvaluationProgressEvent, 'role' | 'dataset' | 'evaluator'>): string =>
  `${event.dataset === undefined ? event.role : `${event.role}/${event.dataset}`}${event.evaluator === undefined ? '' : `@${event.evaluator}`}`;

/**
 * Folds the event stream into the state a late joiner needs: the run's settings, the training
 * curves (the newest `maxSteps` steps), stage changes, every search candidate, the current front,
 * the hypervolume per generation, the newest `maxEvaluations` evaluation results, the
 * evaluations in progress and the evaluation queue's latest figures.
 */
export class LiveState {
  private readonly snapshot: LiveSnapshot = {
    run: {},
    steps: [],
    stages: [],
    candidates: [],
    front: [],
    hypervolumes: [],
    evaluations: [],
    evalProgress: {},
    events: 0,
    done: false,
  };

  constructor(
    run: Record<string, unknown> = {},
    private readonly maxSteps = 5000,
    private readonly maxEvaluations = 1000,
  ) {
    this.snapshot.run = run;
  }

  apply(event: LonasEvent): void {
    this.snapshot.events += 1;
    switch (event.type) {
      case 'train.step':
        this.snapshot.steps.push(event);
        if (this.snapshot.steps.length > this.maxSteps) this.snapshot.steps.shift();
        break;
      case 'train.stage':
        this.snapshot.stages.push(event);
        break;
      case 'eval.result':
        this.snapshot.evaluations.push(event);
        if (this.snapshot.evaluations.length > this.maxEvaluations) this.snapshot.evaluations.shift();
        break;
      case 'eval.progress': {
        const key = progressKey(event);
        if (event.done >= event.total) delete this.snapshot.evalProgress[key];
        else this.snapshot.evalProgress[key] = event;
        break;
      }
      case 'search.candidate':
        this.snapshot.candidates.push(event);
        break;
      case 'search.queue':
        this.snapshot.queue = event;
        break;
      case 'search.generation':
        this.snapshot.front = event.front;
        this.snapshot.hypervolumes.push(event.hypervolume);
        break;
      case 'search.done':
        this.snapshot.done = true;
        break;
      default:
        break;
    }
  }

  get current(): LiveSnapshot {
    return this.snapshot;
  }
}
