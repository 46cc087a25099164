import type { AdamWVariant } from './adamw';

/** How a super-adapter is trained: transformers' TrainingArguments that LoNAS's scripts use. */
export interface TrainingSettings {
  /** per_device_train_batch_size. */
  batchSize: number;
  gradientAccumulationSteps: number;
  /** num_train_epochs (default: the stage schedule's total). */
  epochs?: number;
  seed: number;
  weightDecay: number;
  optim: AdamWVariant;
  saveStrategy: 'epoch' | 'no';
  saveTotalLimit?: number;
  /** Continue from the output folder's last checkpoint. */
  resume: boolean;
  /** GLUE with the eval phase: also evaluate after every epoch. */
  evaluationStrategy: 'no' | 'epoch';
}

/** TrainingArguments' defaults in transformers 4.31, as LoNAS's scripts get them (epochs: the stages'). */
export const TRAINING_DEFAULTS: TrainingSettings = {
  batchSize: 8,
  gradientAccumulationSteps: 1,
  seed: 42,
  weightDecay: 0,
  optim: 'adamw_hf',
  saveStrategy: 'epoch',
  resume: false,
  evaluationStrategy: 'no',
};
