import { isLeft } from 'fp-ts/Either';
import * as t from 'io-ts';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** "hidden_size" or "search.population": the path io-ts walked to a bad value. */
function fieldPath(context: t.Context): string {
  // Intersection and union members appear as numeric keys under their combinator: not fields.
  const isCombinator = (type: t.Decoder<unknown, unknown>) =>
    type instanceof t.IntersectionType || type instanceof t.UnionType || type instanceof t.RefinementType;
  return context
    .filter((entry, i) => entry.key !== '' && (i === 0 || !isCombinator(context[i - 1].type)))
    .map((entry) => entry.key)
    .join('.');
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  const json = JSON.stringify(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

/**
 * Decodes `value` with an io-ts codec, or throws one error listing every bad field by path,
 * what it expected and what it got, prefixed with `source` (a file name).
 */
export function decode<A, O>(codec: t.Type<A, O, unknown>, value: unknown, source: string): A {
  const result = codec.decode(value);
  if (!isLeft(result)) return result.right;
  const problems = new Set(
    result.left.map((error) => {
      const last = error.context[error.context.length - 1];
      const path = fieldPath(error.context);
      return `${path === '' ? 'the document' : `'${path}'`} must be ${last.type.name}, got ${describeValue(error.value)}`;
    }),
  );
  throw new ConfigError(`${source}: ${[...problems].join('; ')}`);
}

/** A positive integer. */
export const PositiveInt = t.refinement(t.number, (n) => Number.isInteger(n) && n > 0, 'a positive integer');
