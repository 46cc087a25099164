import { UsageError } from './command';

/** Flag values as numbers and choices; a malformed one is a UsageError naming the flag. */

/** An integer flag (>= `min`), or `fallback` when absent. */
export function integer(value: string | undefined, flag: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min) {
    throw new UsageError(`${flag} must be an integer >= ${min}, got '${value}'`);
  }
  return n;
}

/** An integer flag (>= `min`), or undefined when absent. */
export function optionalInteger(value: string | undefined, flag: string, min = 0): number | undefined {
  return value === undefined ? undefined : integer(value, flag, 0, min);
}

/** One of `allowed`, or undefined when absent. */
export function choice<T extends string>(
  value: string | undefined,
  flag: string,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`${flag} must be ${allowed.join(' or ')}, got '${value}'`);
  }
  return value as T;
}

/** A number >= 0, or undefined when absent. */
export function nonNegative(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new UsageError(`${flag} must be a number >= 0, got '${value}'`);
  }
  return n;
}
