import type { ElasticPlan } from './elastic-plan';
import type { SubnetConfig } from './search-space';

export interface CostOptions {
  /** Tokens per sequence: per-token layers count this many times (NNCF traces input_info's length). */
  tokens: number;
  /** Also count the attention products Q K^T and P V (NNCF does not). */
  attentionMatmuls?: boolean;
}

export interface SubnetCost {
  /** Parameters of the active linear layers, LoRA A and B and lm_head included. */
  weights: number;
  /** Multiply-accumulates of one forward pass over one sequence. */
  macs: number;
}

/**
 * NNCF's counters for a subnet: every linear layer (LoRA's A and B as layers of their own) adds
 * in x out weights and in x out x tokens MACs at its active widths; layers applied once per
 * sequence (BERT's pooler and classifier) count one token. Biases, embeddings and norms are not
 * counted.
 */
export function subnetCost(plan: ElasticPlan, subnet: SubnetConfig, options: CostOptions): SubnetCost {
  const widths = plan.widthsFor(subnet);
  let weights = 0;
  let macs = 0;
  for (const shape of plan.architecture.linears) {
    const { inFeatures, outFeatures, rank } = widths.get(shape.path) as {
      inFeatures: number;
      outFeatures: number;
      rank: number;
    };
    const layerWeights = inFeatures * outFeatures + rank * (inFeatures + outFeatures);
    weights += layerWeights;
    macs += layerWeights * (shape.perToken ? options.tokens : 1);
  }
  if (options.attentionMatmuls) {
    for (const { path, queryFraction } of plan.architecture.queryProjections) {
      const queryWidth = (widths.get(path)?.outFeatures ?? 0) * queryFraction;
      macs += 2 * options.tokens * options.tokens * queryWidth;
    }
  }
  return { weights, macs };
}
