/**
 * `describe`, or, when `missing` says what is absent, a skipped block titled with it that the
 * summary reporter prints once. The body is not run then: jest runs a skipped block's body, and a
 * body may use what is absent.
 */
export function describeUnless(missing: string | undefined, name: string, body: () => void): void {
  if (missing === undefined) describe(name, body);
  else describe.skip(`${name} (skipped: ${missing})`, () => it(`needs ${missing}`, () => {}));
}
