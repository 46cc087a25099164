/** What a run holds in tensor memory at its peak, in bytes, by part. */
export interface MemoryEstimate {
  /** The frozen base model in float32. */
  weights: number;
  /** LoRA weights, their gradients and AdamW's two moments (0 for evaluation only). */
  adapter: number;
  /** What one step keeps alive: activations and, in training, their gradients. */
  activations: number;
  total: number;
  /** The largest single tensor, which a GPU must bind whole (e.g. "the 32000x4096 embedding"). */
  largest?: { what: string; bytes: number };
}

/** wasm32 addresses 4 GiB: tfjs-backend-wasm's heap cannot grow past it. */
export const WASM_HEAP_BYTES = 4 * 1024 ** 3;

const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;

/** "the 32000x4096 embedding (500 MiB)". */
export const describeLargest = (largest: { what: string; bytes: number }) =>
  `${largest.what} (${(largest.bytes / 1024 ** 2).toFixed(0)} MiB)`;

/** "7.9 GiB (weights 1.4 GiB, adapter 0.1 GiB, activations 6.4 GiB)". */
export function describeEstimate(estimate: MemoryEstimate): string {
  return `${gib(estimate.total)} (weights ${gib(estimate.weights)}, adapter ${gib(estimate.adapter)}, activations ${gib(estimate.activations)})`;
}
