import * as E from 'fp-ts/Either';
import { sequenceS } from 'fp-ts/Apply';
import { getSemigroup, type NonEmptyArray } from 'fp-ts/NonEmptyArray';
import { errorMessage } from '../util/error-message';
import { ExperimentError } from '../util/experiment-error';

/** A value, or every problem found on the way to it. */
export type Checked<T> = E.Either<NonEmptyArray<string>, T>;

/** Checks that run side by side: their problems add up instead of stopping at the first. */
export const allChecked = sequenceS(E.getApplicativeValidation(getSemigroup<string>()));

/** A check written as code that throws: its error message becomes the problem. */
export function attempt<T>(check: () => T): Checked<T> {
  try {
    return E.right(check());
  } catch (error) {
    return E.left([errorMessage(error)]);
  }
}

/** The value, or one ExperimentError listing every problem. */
export function orThrow<T>(checked: Checked<T>, what: string): T {
  if (E.isRight(checked)) return checked.right;
  const problems = checked.left;
  if (problems.length === 1) throw new ExperimentError(problems[0]);
  throw new ExperimentError(`${problems.length} problems in ${what}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
}
