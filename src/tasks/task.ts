import type { LonasEvent } from '../events';
import type { Checkpoint } from '../models/checkpoint';
import type { LoadedModel } from '../models/registry';
import type { LoraPlan } from '../nas/elastic-plan';
import type { SubnetConfig } from '../nas/search-space';
import type { SuperNetwork } from '../nas/super-network';
import type { Example } from '../train/batches';
import type { TextTokenizer } from '../tokenizers/text-tokenizer';

/** Where a task writes its result files (atomically), in the experiment's output folder. */
export interface TaskOutput {
  writeJson(name: string, value: unknown): void;
  /** Adds keys to a JSON object file written earlier in this run (GLUE's eval_results.json). */
  mergeJson(name: string, value: Record<string, unknown>): void;
}

/** What a task works with once the model is loaded. */
export interface TaskContext {
  loaded: LoadedModel;
  network: SuperNetwork;
  tokenizer: TextTokenizer;
  evalBatchSize: number;
  emit(event: LonasEvent): void;
  output: TaskOutput;
  /** Aborted when the experiment is asked to stop: long evaluations check it between batches. */
  signal: AbortSignal;
}

/** A task's score of one subnet on its validation set: the search's accuracy objective. */
export interface TaskObjective {
  metric: string;
  examples: number;
  /** A hash of what the score depends on besides the adapter: the records and the evaluation settings. */
  fingerprint: string;
  /** The validation records as plain JSON: what another machine's evaluator scores on (see `BoundTask.objective`). */
  records: unknown[];
  score(subnet: SubnetConfig): Promise<number>;
}

/** A task bound to a loaded model: its data, its evaluations, its metrics. */
export interface BoundTask {
  /** The tokenized training examples. */
  trainingExamples(): Example[];
  /** How micro-batches pad: left for generation models, right for BERT. */
  paddingSide: 'left' | 'right';
  /** The test phase: `subnet` (the heuristic) on the task's test sets; writes its files, returns the results. */
  test?(subnet: SubnetConfig, cost: { macs: number; weights: number }): Promise<Record<string, number | string>>;
  /** The eval phase (GLUE's --do_eval): the super-network and the minimum subnet on the dev set. */
  evaluate?(epoch?: number): Promise<Record<string, number>>;
  /**
   * The search's accuracy objective; undefined where the task has no validation set. `records`
   * (another objective's `records`, checked here) replace the task's own validation set.
   */
  objective?(records?: unknown[]): TaskObjective;
}

/**
 * One kind of experiment (LoNAS's commonsense, math or GLUE, or plain text training): what it
 * checks before anything loads, which models it takes, and its data and metrics once bound.
 */
export interface Task {
  readonly name: string;
  /** The model kind the task needs, or undefined for any. */
  readonly modelKind?: LoadedModel['kind'];
  /** What the task's results depend on (its settings): a checkpoint of another task is refused (default: the name). */
  readonly identity?: unknown;
  /** The adapter settings of LoNAS's script for the task, where neither the experiment nor the config's lonas section says. */
  readonly lora?: LoraPlan;
  /** Tokens per sequence, and sequences per evaluated example (beams): what the memory estimate sizes. */
  readonly shape?: { tokens: number; beams: number };
  /** Checks the task's files and settings for the phases asked, before any model loads. */
  validate(phases: { train: boolean; eval: boolean; test: boolean; search: boolean }): void;
  /** The checkpoint as the task needs it (GLUE: a classifier sized for its labels). */
  adaptCheckpoint?(checkpoint: Checkpoint): Checkpoint;
  bind(context: TaskContext): BoundTask;
}
