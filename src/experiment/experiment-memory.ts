import type { MemoryEstimate } from '../backend/memory-estimate';
import { estimateMemory, type MemoryWorkload } from './estimate-memory';
import { adapterLoraPlan } from '../nas/peft-adapter';
import type { Checkpoint } from '../models/checkpoint';
import { architectureFromConfig } from '../models/registry';
import { loraPlanFor, type NasConfig } from '../nas/nas-config';
import type { ExperimentConfig } from './experiment-config';

/**
 * The peak tensor memory of an experiment's phases on `checkpoint`, from its config alone: a
 * training step at the training batch and length, and an evaluation batch (LLM tasks: times the
 * beams, whose prompts' prefill is the peak); the larger of those its phases run.
 */
export function experimentMemory(
  config: ExperimentConfig,
  nasConfig: NasConfig,
  checkpoint: Checkpoint,
): MemoryEstimate {
  const architecture = architectureFromConfig(checkpoint.config, checkpoint.location);
  const lora =
    config.loraWeights === undefined
      ? loraPlanFor(nasConfig, architecture.modelType, config.lora, config.loraDefaults)
      : adapterLoraPlan(config.loraWeights);
  const { task, phases } = config;
  const tokens = task.kind === 'glue' || task.kind === 'text' ? task.maxSeqLength : task.cutoffLen;
  const workloads: MemoryWorkload[] = [];
  if (phases.train) workloads.push({ sequences: config.training.batchSize, tokens, training: true, lora });
  if (phases.eval || phases.test || phases.search) {
    workloads.push(
      task.kind === 'glue' || task.kind === 'text'
        ? { sequences: config.evalBatchSize, tokens, training: false, lora }
        : {
            sequences: config.evalBatchSize * task.numBeams,
            tokens,
            training: false,
            lora,
          },
    );
  }
  const estimates = workloads.map((workload) => estimateMemory(architecture, checkpoint.config, workload));
  return estimates.reduce((peak, estimate) => (estimate.total > peak.total ? estimate : peak), estimates[0]);
}
