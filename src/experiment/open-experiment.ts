import * as path from 'path';
import { selectBackend } from '../backend';
import { adapterLoraPlan, loadAdapter } from '../nas/peft-adapter';
import { openCheckpoint } from '../models/checkpoint';
import type { NasConfig } from '../nas/nas-config';
import { tracedTokens } from '../nas/nncf-config';
import { openSuperNetwork } from '../nas/open-super-network';
import type { SuperNetwork } from '../nas/super-network';
import { ExperimentError } from '../util/experiment-error';
import type { BoundTask, Task, TaskContext } from '../tasks/task';
import { taskLoss } from '../train/task-loss';
import { loadTokenizer } from '../tokenizers/load-tokenizer';
import type { EvaluatorConfig } from './evaluator-config';
import { experimentMemory, type ExperimentWorkload } from './experiment-memory';
import { nasConfigOf } from '../nas/nas-config';

/** An experiment's model, ready for its phases. */
export interface OpenExperiment {
  network: SuperNetwork;
  /** The task bound to the model and tokenizer. */
  bound: BoundTask;
  taskLoss: ReturnType<typeof taskLoss>;
  padTokenId: number;
  /** Tokens per sequence the cost model counts. */
  tokens: number;
  adapterTaskType: 'CAUSAL_LM' | 'SEQ_CLS';
}

/**
 * Chooses the backend, opens the base model as the config's super-network (the adapter of
 * `config.loraWeights` loaded, its own LoRA settings used), loads the tokenizer and binds the
 * task: what the experiment's load phase and every evaluator worker do alike.
 */
export async function openExperiment(
  config: Omit<EvaluatorConfig, 'task'>,
  task: Task,
  context: Omit<TaskContext, 'loaded' | 'network' | 'tokenizer' | 'evalBatchSize'>,
  options: ExperimentWorkload & { nasConfig?: NasConfig; log?: (line: string) => void },
): Promise<OpenExperiment> {
  const nasConfig = options.nasConfig ?? nasConfigOf(config.nncfConfig);
  let checkpoint = openCheckpoint(config.model);
  if (task.adaptCheckpoint !== undefined) checkpoint = task.adaptCheckpoint(checkpoint);
  // The backend is chosen with the run's size in mind: wasm's heap stops at 4 GiB.
  await selectBackend({
    requested: config.backend,
    memory: experimentMemory(config, task, nasConfig, checkpoint, options),
    ...(options.log === undefined ? {} : { log: options.log }),
  });
  const { loaded, network } = openSuperNetwork(checkpoint, nasConfig, {
    lora: config.loraWeights === undefined ? config.lora : adapterLoraPlan(config.loraWeights),
    loraDefaults: task.lora,
    seed: config.seed,
  });
  if (task.modelKind !== undefined && task.modelKind !== loaded.kind) {
    throw new ExperimentError(
      `${task.name} needs ${task.modelKind === 'causal-lm' ? 'a LLaMA or BLOOM' : 'a BERT'} model, not ${loaded.model.config.modelType}`,
    );
  }
  if (config.loraWeights !== undefined) loadAdapter(config.loraWeights, network);
  const tokenizer = loadTokenizer(
    config.tokenizer ?? checkpoint.folder ?? path.join(path.dirname(config.model), 'tokenizer.bin'),
    { vocabSize: loaded.kind === 'causal-lm' ? loaded.model.config.vocabSize : undefined },
  );
  const bound = task.bind({ ...context, loaded, network, tokenizer, evalBatchSize: config.evalBatchSize });
  return {
    network,
    bound,
    taskLoss: taskLoss(loaded),
    padTokenId: tokenizer.padTokenId ?? 0,
    tokens: tracedTokens(nasConfig.nncf) ?? (loaded.kind === 'causal-lm' ? 256 : 128),
    adapterTaskType: loaded.kind === 'causal-lm' ? 'CAUSAL_LM' : 'SEQ_CLS',
  };
}
