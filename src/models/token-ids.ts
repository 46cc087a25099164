import * as t from 'io-ts';

/** A config.json token-id field: one id, several (eos in LLaMA-3 style configs), or null. */
export const TokenIdField = t.union([t.number, t.array(t.number), t.null]);

export function tokenIdList(value: number | number[] | null | undefined): number[] {
  if (value === null || value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
