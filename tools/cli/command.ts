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

/** The words Hugging Face's HfArgumentParser (string_to_bool) reads as a boolean. */
const BOOLEAN_WORDS: Record<string, boolean> = {
  true: true,
  t: true,
  yes: true,
  y: true,
  '1': true,
  false: false,
  f: false,
  no: false,
  n: false,
  '0': false,
};

const booleanWord = (word: string | undefined): boolean | undefined =>
  word === undefined ? undefined : BOOLEAN_WORDS[word.toLowerCase()];

/**
 * Parses a command's flags as the original scripts' HfArgumentParser reads them: a boolean flag
 * stands alone or takes a value (`--fp16`, `--do_train True`, `--lora=false`, `--no_lora`) in any
 * position; a value flag takes the next word even when it starts with a dash
 * (`--num_train_epochs -1`). An unknown or malformed flag becomes a UsageError.
 */
export function parseFlags<T extends FlagOptions>(args: string[], options: T): Flags<T> {
  const explicit: Record<string, boolean> = {};
  const rest: string[] = [];
  const kindOf = (name: string) => (Object.hasOwn(options, name) ? options[name].type : undefined);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const flag = /^--([^=]+)(?:=(.*))?$/s.exec(arg);
    if (flag === null) {
      rest.push(arg);
      continue;
    }
    const [, name, inline] = flag;
    const negated = /^no[_-](.+)$/.exec(name)?.[1];
    if (kindOf(name) === 'boolean') {
      const word = inline ?? args[i + 1];
      const value = booleanWord(word);
      if (inline !== undefined && value === undefined) {
        throw new UsageError(`--${name} takes true or false, got '${inline}'`);
      }
      if (inline === undefined && value !== undefined) i++;
      explicit[name] = value ?? true;
    } else if (kindOf(name) === undefined && negated !== undefined && kindOf(negated) === 'boolean') {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value, got '${inline}'`);
      explicit[negated] = false;
    } else if (kindOf(name) === 'string' && inline === undefined && i + 1 < args.length) {
      const next = args[i + 1];
      if (!next.startsWith('--')) {
        rest.push(`--${name}=${next}`);
        i++;
      } else {
        rest.push(arg);
      }
    } else {
      rest.push(arg);
    }
  }
  try {
    const values = parseArgs({ args: rest, options }).values as Record<string, unknown>;
    return { ...values, ...explicit } as Flags<T>;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
