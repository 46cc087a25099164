/** One linear layer of a model, as shapes only (what the cost model and elastic wrapping need). */
export interface LinearShape {
  /** Hugging Face module path. */
  path: string;
  inFeatures: number;
  outFeatures: number;
  bias: boolean;
  /** Applied to every token, or once per sequence (BERT's pooler and classifier). */
  perToken: boolean;
}

/**
 * A layer whose input columns follow another layer's output width: when a producer keeps its
 * first k outputs, the consumer keeps its first k inputs. Paths are suffixes within one block.
 */
export interface WidthConsumer {
  producer: string;
  consumer: string;
  /** Widths must be multiples of this (attention heads). */
  multipleOf?: number;
}

/** The projection holding a block's queries, and the share of its outputs that are queries. */
export interface QueryProjection {
  path: string;
  queryFraction: number;
}

/** A model as the elastic machinery sees it: linear layers, width dependencies, attention. */
export interface Architecture {
  modelType: string;
  /** The prefix of the base model in task checkpoints (`bert.`), absent from bare-model checkpoints. */
  basePrefix: string;
  linears: LinearShape[];
  widthConsumers: WidthConsumer[];
  queryProjections: QueryProjection[];
}

/** For a layer path, the consumer whose inputs follow its outputs (undefined: none known). */
export function consumerOf(
  architecture: Architecture,
  path: string,
): { path: string; multipleOf?: number } | undefined {
  for (const rule of architecture.widthConsumers) {
    if (path === rule.producer || path.endsWith(`.${rule.producer}`)) {
      return { path: path.slice(0, path.length - rule.producer.length) + rule.consumer, multipleOf: rule.multipleOf };
    }
  }
  return undefined;
}

/** Replaces the shapes of listed layers (a compressed model records its sliced widths so). */
export function withShapes(
  architecture: Architecture,
  shapes: Record<string, [number, number]> | undefined,
): Architecture {
  if (shapes === undefined) return architecture;
  const known = new Set(architecture.linears.map((l) => l.path));
  const unknown = Object.keys(shapes).filter((path) => !known.has(path));
  if (unknown.length > 0)
    throw new Error(`lonas_linear_shapes names layers the model does not have: ${unknown.join(', ')}`);
  return {
    ...architecture,
    linears: architecture.linears.map((l) =>
      shapes[l.path] === undefined ? l : { ...l, outFeatures: shapes[l.path][0], inFeatures: shapes[l.path][1] },
    ),
  };
}
