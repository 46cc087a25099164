import { parseArgs } from 'util';
import { backendNames, selectBackend } from '../../src/backend';
import { UsageError, type Command } from './command';

export const backendCommand: Command = {
  name: 'backend',
  summary: 'choose the tensor backend as every run does, and say which and why',
  usage: [
    'usage: lonas backend [--backend NAME] [--json]',
    '',
    `  --backend NAME  one of ${backendNames.join(', ')}, or auto (default: $LONAS_BACKEND, else auto)`,
    '  --json          print the choice as one JSON object',
    '',
    'Automatic order: tensorflow (@tensorflow/tfjs-node-gpu, then @tensorflow/tfjs-node), webgpu on a hardware',
    'adapter (a software one, such as lavapipe, only when asked for), wasm, cpu.',
  ].join('\n'),
  async run(args) {
    let values;
    try {
      ({ values } = parseArgs({ args, options: { backend: { type: 'string' }, json: { type: 'boolean' } } }));
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const choice = await selectBackend({ requested: values.backend, log: values.json ? () => {} : undefined });
    if (values.json) process.stdout.write(`${JSON.stringify(choice)}\n`);
    return 0;
  },
};
