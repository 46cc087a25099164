import * as fs from 'fs';
import * as path from 'path';
import { describeUnless } from './describe-unless';

/** The read-only real material beside the project (absent on a user's fresh clone). */
export const sharedDataRoot = path.resolve(__dirname, '..', '..', '..', 'shared', 'data');

export function sharedData(relative: string): string {
  return path.join(sharedDataRoot, relative);
}

/** `describe` when every listed file of ../shared/data exists, else a skipped block that says why. */
export function describeWithSharedData(name: string, files: string[], body: () => void): void {
  const missing = files.find((file) => !fs.existsSync(sharedData(file)));
  describeUnless(missing === undefined ? undefined : `../shared/data/${missing} is absent`, name, body);
}
