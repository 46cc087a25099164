import type { MemoryEstimate } from '../backend/memory-estimate';
import { estimateMemory, type MemoryWorkload } from './estimate-memory';
import { adapterLoraPlan } from '../nas/peft-adapter';
import type { Checkpoint } from '../models/checkpoint';
import { architectureFromConfig } from '../models/registry';
import { loraPlanFor, type NasConfig } from '../nas/nas-config';
import type { Task } from '../tasks/task';
import type { EvaluatorConfig } from './evaluator-config';

/** The steps an experiment runs: training at a batch size, and evaluation. */
export interface ExperimentWorkload {
  /** The training batch, where the run trains. */
  trainingBatch?: number;
  evaluates: boolean;
}

/**
 * The peak tensor memory of an experiment's phases on `checkpoint`, from its config alone: a
 * training step at the training batch and the task's length, and an evaluation batch (times the
 * task's beams, whose prompts' prefill is the peak); the larger of those its phases run.
 */
export function experimentMemory(
  config: Omit<EvaluatorConfig, 'task'>,
  task: Task,
  nasConfig: NasConfig,
  checkpoint: Checkpoint,
  workload: ExperimentWorkload,
): MemoryEstimate {
  const architecture = architectureFromConfig(checkpoint.config, checkpoint.location);
  const lora =
    config.loraWeights === undefined
      ? loraPlanFor(nasConfig, architecture.modelType, config.lora, task.lora)
      : adapterLoraPlan(config.loraWeights);
  // A task that does not say is sized as LoNAS's LLM tasks are: 256 tokens, one sequence per example.
  const { tokens, beams } = task.shape ?? { tokens: 256, beams: 1 };
  const workloads: MemoryWorkload[] = [];
  if (workload.trainingBatch !== undefined) {
    workloads.push({ sequences: workload.trainingBatch, tokens, training: true, lora });
  }
  if (workload.evaluates) {
    workloads.push({ sequences: config.evalBatchSize * beams, tokens, training: false, lora });
  }
  const estimates = workloads.map((w) => estimateMemory(architecture, checkpoint.config, w));
  return estimates.reduce((peak, estimate) => (estimate.total > peak.total ? estimate : peak), estimates[0]);
}
