import { BackendUnavailableError } from '../../src/backend';
import { ConfigError } from '../../src/config/decode';
import { DataError } from '../../src/data/text-file';
import { LiveSecurityError } from '../live/live-server';
import { AdapterError } from '../../src/nas/peft-adapter';
import { QueueError } from '../../src/distributed/redis-url';
import { SafetensorsError } from '../../src/io/safetensors';
import { SearchSpaceError } from '../../src/nas/search-space';
import { ScheduleError } from '../../src/train/schedule';
import { CheckpointError } from '../../src/models/weights';
import { TokenizerError } from '../../src/tokenizers/text-tokenizer';
import { backendCommand } from './backend-command';
import { costCommand } from './cost-command';
import { demoCommand } from './demo-command';
import { exportCommand } from './export-command';
import { generateCommand } from './generate-command';
import { taskCommand } from './task-command';
import { replayCommand } from './replay-command';
import { trainCommand } from './train-command';
import { watchCommand } from './watch-command';
import { workerCommand } from './worker-command';
import { UsageError, type Command } from './command';

const commands: Command[] = [
  demoCommand,
  taskCommand('commonsense'),
  taskCommand('math'),
  taskCommand('glue'),
  trainCommand,
  generateCommand,
  costCommand,
  exportCommand,
  watchCommand,
  workerCommand,
  replayCommand,
  backendCommand,
];

/** Errors about the user's files, flags or machine: printed as one line, without a stack. */
function isUserFacing(error: unknown): boolean {
  return [
    AdapterError,
    BackendUnavailableError,
    CheckpointError,
    ConfigError,
    DataError,
    LiveSecurityError,
    QueueError,
    SafetensorsError,
    ScheduleError,
    SearchSpaceError,
    TokenizerError,
  ].some((kind) => error instanceof kind);
}

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: lonas <command> [options]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "'lonas <command> --help' describes a command's options.",
  ].join('\n');
}

/** Runs the CLI on `argv` (without node and script) and resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    process.stdout.write(`${overview()}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    process.stderr.write(`lonas: unknown command '${name}'\n\n${overview()}\n`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(args);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`lonas ${name}: ${error.message}\n\n${command.usage}\n`);
      return 2;
    }
    if (isUserFacing(error)) {
      process.stderr.write(`lonas: ${(error as Error).message}\n`);
      return 1;
    }
    throw error;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`lonas: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
