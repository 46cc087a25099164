/**
 * The typed events lonas's actors emit. Each is a plain serialisable object: what the trainer
 * emits is what a results file records and what a live client receives.
 */

import type { SubnetConfig } from './nas/search-space';

/** A subnet as {group index: width}, with string keys as JSON writes them. */
export type SubnetRecord = Record<string, number>;

export const subnetRecord = (subnet: SubnetConfig): SubnetRecord => Object.fromEntries(Object.entries(subnet));

/** Training begins (or resumes at `globalStep`). */
export interface TrainStartEvent {
  type: 'train.start';
  epochs: number;
  stepsPerEpoch: number;
  /** Micro-steps of the whole run. */
  totalSteps: number;
  examples: number;
  /** Micro-steps already done: above 0 when resuming. */
  globalStep: number;
  /** The checkpoint a resumed attempt starts from: where it begins in events.jsonl. */
  resumedFrom?: string;
}

/** One micro-step of training. */
export interface TrainStepEvent {
  type: 'train.step';
  epoch: number;
  /** Micro-step within the epoch (1-based). */
  step: number;
  /** Micro-steps since the start of the run. */
  globalStep: number;
  /** Optimizer steps taken so far. */
  optimizerStep: number;
  stage: number;
  lr: number;
  loss: number;
  subnet: SubnetRecord;
  examplesPerSecond: number;
}

/** The stage scheduler entered a stage. */
export interface StageEvent {
  type: 'train.stage';
  stage: number;
  epoch: number;
  widthIndicator: number;
  sampleRate: number;
}

export interface EpochEvent {
  type: 'train.epoch';
  epoch: number;
  meanLoss: number;
}

export interface CheckpointEvent {
  type: 'train.checkpoint';
  folder: string;
  epoch: number;
  globalStep: number;
  reason: 'epoch' | 'signal';
}

export interface TrainDoneEvent {
  type: 'train.done';
  epochs: number;
  globalSteps: number;
  interrupted: boolean;
}

/** One subnet evaluated. */
export interface EvaluationEvent {
  type: 'eval.result';
  subnet: SubnetRecord;
  metric: string;
  value: number;
  examples: number;
  /**
   * Which subnet, where the run names it as the official scripts log it: `super` and `minimum`
   * (GLUE --do_eval), `val_maximal` and `val_heuristic` (the validation set, before a search).
   */
  role?: string;
  /** The epoch just trained, for evaluations during training. */
  epoch?: number;
  /** The evaluation set, where a task has more than one (MNLI's `mismatched`). */
  split?: string;
}

/** Progress through one evaluation: a test set, a candidate's validation set, a dev set. */
export interface EvaluationProgressEvent {
  type: 'eval.progress';
  /** What is being evaluated: `test` (a test set), `candidate` (a search candidate), or a role as in EvaluationEvent. */
  role: string;
  /** The test set's name, where there is one. */
  dataset?: string;
  /** The subnet being evaluated. */
  subnet: SubnetRecord;
  /** Examples done so far, of `total`. */
  done: number;
  total: number;
  /** Which evaluator worker, where a search evaluates on several (`worker-1`). */
  evaluator?: string;
}

/** One candidate of a search, evaluated (or found in the cache). */
export interface SearchCandidateEvent {
  type: 'search.candidate';
  generation: number;
  subnet: SubnetRecord;
  /** MACs in millions, as NNCF reports them. */
  macs: number;
  /** Parameters of the active linear layers, where the search counts them. */
  weights?: number;
  accuracy: number;
  cached: boolean;
  /** Who scored it, where not this process (`worker-1`, or a queue worker's name). */
  evaluator?: string;
}

/** A search begins. */
export interface SearchStartEvent {
  type: 'search.start';
  algorithm: string;
  numEvals: number;
  population: number;
  /** Subnets whose scores the caches already hold (a resumed search). */
  cached: number;
  /** Why caches of another search in the output folder were discarded, if they were. */
  discarded?: string;
}

/** The evaluation queue of a distributed search (`--eval_queue`): sent whenever a figure changes. */
export interface SearchQueueEvent {
  type: 'search.queue';
  /** The queue's name. */
  queue: string;
  /** Where it is, without any password. */
  redis: string;
  /** Jobs waiting for a worker, and being evaluated. */
  waiting: number;
  active: number;
  /** Workers connected to the queue. */
  workers: number;
  /** What is wrong, while it is (no workers, Redis unreachable, a failed attempt, a worker refusing the jobs). */
  warning?: string;
}

/** A search point on the front. */
export interface FrontPoint {
  subnet: SubnetRecord;
  macs: number;
  accuracy: number;
}

export interface SearchGenerationEvent {
  type: 'search.generation';
  generation: number;
  evaluated: number;
  front: FrontPoint[];
  hypervolume: number;
}

export interface SearchDoneEvent {
  type: 'search.done';
  best: FrontPoint;
  /** Whether the best subnet clears ref_acc - acc_delta (else it is the max subnet). */
  meetsReference: boolean;
  evaluated: number;
  /** Why the search ended before num_evals: its strategy proposed no new subnet. */
  endedEarly?: string;
}

export type TrainEvent = TrainStartEvent | TrainStepEvent | StageEvent | EpochEvent | CheckpointEvent | TrainDoneEvent;
export type SearchEvent =
  SearchStartEvent | SearchCandidateEvent | SearchQueueEvent | SearchGenerationEvent | SearchDoneEvent;
export type LonasEvent = TrainEvent | EvaluationEvent | EvaluationProgressEvent | SearchEvent;
