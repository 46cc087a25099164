import type { FrontPoint, LonasEvent, SearchCandidateEvent, StageEvent, TrainStepEvent } from '../events';

/** What a client that joins late receives first: the run so far, summarised. */
export interface LiveSnapshot {
  run: Record<string, unknown>;
  /** Recent training steps (loss and lr curves), oldest first. */
  steps: TrainStepEvent[];
  stages: StageEvent[];
  candidates: SearchCandidateEvent[];
  front: FrontPoint[];
  hypervolumes: number[];
  events: number;
  done: boolean;
}

/**
 * Folds the event stream into the state a late joiner needs: the run's settings, the training
 * curves (the newest `maxSteps` steps), stage changes, every search candidate, the current front
 * and the hypervolume per generation.
 */
export class LiveState {
  private readonly snapshot: LiveSnapshot = {
    run: {},
    steps: [],
    stages: [],
    candidates: [],
    front: [],
    hypervolumes: [],
    events: 0,
    done: false,
  };

  constructor(
    run: Record<string, unknown> = {},
    private readonly maxSteps = 5000,
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
      case 'search.candidate':
        this.snapshot.candidates.push(event);
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
