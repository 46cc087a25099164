import { parseArgs, type ParseArgsConfig } from 'util';

/** One `lonas` sub-command: its name, a one-line summary, its own help text, and what it does. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Runs with the arguments after the command name; resolves to the process exit code. */
  run(args: string[]): Promise<number>;
}

/** A mistake in how the command was called: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type FlagOptions = NonNullable<ParseArgsConfig['options']>;
type Flags<T extends FlagOptions> = ReturnType<typeof parseArgs<{ args: string[]; options: T }>>['values'];

/** Parses a command's flags; an unknown or malformed flag becomes a UsageError. */
export function parseFlags<T extends FlagOptions>(args: string[], options: T): Flags<T> {
  try {
    return parseArgs({ args, options }).values as Flags<T>;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
