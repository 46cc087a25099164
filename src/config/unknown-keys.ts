import { isRight } from 'fp-ts/Either';
import * as t from 'io-ts';

/**
 * The keys an object codec knows; undefined where any key goes (a record, `t.unknown`, or an
 * intersection with such a member).
 */
export function knownKeys(codec: t.Decoder<unknown, unknown>): Set<string> | undefined {
  if (codec instanceof t.InterfaceType || codec instanceof t.PartialType) {
    return new Set(Object.keys(codec.props as object));
  }
  if (codec instanceof t.ExactType || codec instanceof t.RefinementType) return knownKeys(codec.type);
  if (codec instanceof t.IntersectionType) {
    const members = (codec.types as Array<t.Decoder<unknown, unknown>>).map(knownKeys);
    if (members.some((keys) => keys === undefined)) return undefined;
    return new Set(members.flatMap((keys) => [...(keys as Set<string>)]));
  }
  return undefined;
}

/** The codec of field `key` in an object codec, if it names one. */
function fieldCodec(codec: t.Decoder<unknown, unknown>, key: string): t.Decoder<unknown, unknown> | undefined {
  if (codec instanceof t.InterfaceType || codec instanceof t.PartialType) {
    return (codec.props as Record<string, t.Decoder<unknown, unknown>>)[key];
  }
  if (codec instanceof t.ExactType || codec instanceof t.RefinementType) return fieldCodec(codec.type, key);
  if (codec instanceof t.IntersectionType) {
    for (const member of codec.types as Array<t.Decoder<unknown, unknown>>) {
      const found = fieldCodec(member, key);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** Levenshtein distance, for suggesting the key a misspelt one meant. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length];
}

/** The known key closest to `key`, when it is close enough to be what was meant. */
export function closestKey(key: string, known: Iterable<string>): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const d = distance(key.toLowerCase(), candidate.toLowerCase());
    if (best === undefined || d < best.distance) best = { key: candidate, distance: d };
  }
  return best !== undefined && best.distance <= Math.max(2, Math.floor(key.length / 3)) ? best.key : undefined;
}

/** One key a codec does not know, by its path, with the known keys beside it. */
export interface UnknownKey {
  path: string;
  known: string[];
  closest?: string;
}

/**
 * Every key of `value` that `codec` does not know, at any depth (arrays and unions followed; a
 * union's member is the first that decodes the value). Paths listed in `open` take any keys.
 */
export function unknownKeys(
  codec: t.Decoder<unknown, unknown>,
  value: unknown,
  open: string[] = [],
  path = '',
): UnknownKey[] {
  if (codec instanceof t.UnionType) {
    const member = (codec.types as Array<t.Decoder<unknown, unknown>>).find((m) => isRight(m.decode(value)));
    return member === undefined ? [] : unknownKeys(member, value, open, path);
  }
  if (Array.isArray(value)) {
    const item = codec instanceof t.ArrayType ? (codec.type as t.Decoder<unknown, unknown>) : undefined;
    return item === undefined ? [] : value.flatMap((entry, i) => unknownKeys(item, entry, open, `${path}[${i}]`));
  }
  if (typeof value !== 'object' || value === null || open.includes(path)) return [];
  const known = knownKeys(codec);
  if (known === undefined) return [];
  return Object.entries(value).flatMap(([key, entry]) => {
    const at = path === '' ? key : `${path}.${key}`;
    if (!known.has(key)) return [{ path: at, known: [...known], closest: closestKey(key, known) }];
    const field = fieldCodec(codec, key);
    return field === undefined ? [] : unknownKeys(field, entry, open, at);
  });
}

/** One line naming each unknown key, what it may have meant, or what is known there. */
export function describeUnknownKeys(keys: UnknownKey[]): string {
  return keys
    .map(({ path, known, closest }) =>
      closest !== undefined
        ? `unknown key '${path}' (did you mean '${closest}'?)`
        : `unknown key '${path}' (known there: ${known.join(', ')})`,
    )
    .join('; ');
}
