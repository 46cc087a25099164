import type { Architecture } from '../models/architecture';
import { matchesModule, type LoraPlan } from '../nas/elastic-plan';
import type { MemoryEstimate } from '../backend/memory-estimate';

/** One step's work: sequences of a length, trained (forward and backward) or evaluated. */
export interface MemoryWorkload {
  /** Sequences in one step (training: the batch; evaluation: the batch times the beams). */
  sequences: number;
  tokens: number;
  training: boolean;
  lora?: LoraPlan;
}

/**
 * Bytes of wasm heap per float of the activation sum below, measured on random-weight LLaMA shapes
 * of llama2.c's 15M, 42M and 110M (docs/backends.md, "Memory"): 7.8-8.6 for a LoRA training step
 * (the fused operations keep only their inputs for the backward pass, where tfjs's compositions
 * kept every intermediate: 23.5-26.6 before; the heap grows in steps), 4.6-5.0 for generation
 * (its prefill keeps every intermediate until the forward pass ends).
 */
const TRAINING_BYTES_PER_ACTIVATION = 8.75;
const EVALUATION_BYTES_PER_ACTIVATION = 5;

/**
 * The peak tensor memory of `workload` on a model of `architecture` (with `config`, its
 * config.json): the weights in float32, the adapter's training state, and per token the inputs
 * and outputs of every linear layer plus three attention maps per layer, scaled by what tfjs
 * keeps alive. An estimate to choose a backend by (within about 10% of the measured peaks, on the
 * high side), not an exact figure.
 */
export function estimateMemory(
  architecture: Architecture,
  config: Record<string, unknown>,
  workload: MemoryWorkload,
): MemoryEstimate {
  const number = (...keys: string[]) => keys.map((k) => config[k]).find((v): v is number => typeof v === 'number');
  const vocab = number('vocab_size') ?? 0;
  const hidden = number('hidden_size', 'n_embed', 'dim') ?? 0;
  const heads = number('num_attention_heads', 'n_head') ?? 1;
  const linearWeights = architecture.linears.reduce(
    (sum, l) => sum + l.inFeatures * l.outFeatures + (l.bias ? l.outFeatures : 0),
    0,
  );
  const weights = 4 * (linearWeights + vocab * hidden);
  const lora = workload.lora;
  const adapterParameters =
    lora === undefined
      ? 0
      : architecture.linears
          .filter((l) => lora.targetModules.some((target) => matchesModule(l.path, target)))
          .reduce((sum, l) => sum + lora.rank * (l.inFeatures + l.outFeatures), 0);
  // LoRA weights, gradients and two moments, in float32.
  const adapter = workload.training ? 16 * adapterParameters : 4 * adapterParameters;
  // Generation projects only the last position onto the vocabulary.
  const oncePerSequence = (l: Architecture['linears'][number]) =>
    !l.perToken || (!workload.training && l.path === 'lm_head');
  const width = (l: Architecture['linears'][number]) => l.inFeatures + l.outFeatures;
  const perToken =
    architecture.linears.filter((l) => !oncePerSequence(l)).reduce((sum, l) => sum + width(l), 0) +
    architecture.queryProjections.length * heads * workload.tokens * 3;
  const perSequence = architecture.linears.filter(oncePerSequence).reduce((sum, l) => sum + width(l), 0);
  const activations =
    workload.sequences *
    (workload.tokens * perToken + perSequence) *
    (workload.training ? TRAINING_BYTES_PER_ACTIVATION : EVALUATION_BYTES_PER_ACTIVATION);
  const sequences = workload.sequences;
  const perTokenOutput = Math.max(
    0,
    ...architecture.linears.filter((l) => !oncePerSequence(l)).map((l) => l.outFeatures),
  );
  const candidates: Array<{ what: string; bytes: number }> = [
    { what: `the ${vocab}x${hidden} embedding`, bytes: 4 * vocab * hidden },
    ...architecture.linears.map((l) => ({
      what: `${l.path}'s ${l.inFeatures}x${l.outFeatures} weight`,
      bytes: 4 * l.inFeatures * l.outFeatures,
    })),
    {
      what: `a step's ${sequences}x${heads}x${workload.tokens}x${workload.tokens} attention scores`,
      bytes: 4 * sequences * heads * workload.tokens ** 2,
    },
    {
      what: `a step's ${sequences}x${workload.tokens}x${perTokenOutput} layer outputs`,
      bytes: 4 * sequences * workload.tokens * perTokenOutput,
    },
  ];
  const largest = candidates.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  return { weights, adapter, activations, total: weights + adapter + activations, largest };
}
