import WebSocket from 'ws';
import { describeEvent, describeSnapshot } from '../../src/live/describe';
import type { ServerMessage } from '../../src/live/protocol';
import { parseFlags, UsageError, type Command } from './command';

const usage = `usage: lonas watch ws://HOST:PORT [--token TOKEN] [--json]

Shows a run streamed with --live as it goes: progress, loss, stage, the search's front.

  --token TOKEN   the run's --live-token
  --json          print the server's messages as JSON lines`;

export const watchCommand: Command = {
  name: 'watch',
  summary: 'follow a run streamed with --live, in the terminal',
  usage,
  async run(args) {
    const [address, ...rest] = args;
    if (address === undefined || !/^wss?:\/\//.test(address))
      throw new UsageError("give the run's address, ws://HOST:PORT");
    const values = parseFlags(rest, { token: { type: 'string' }, json: { type: 'boolean', default: false } });
    const headers = values.token === undefined ? {} : { authorization: `Bearer ${values.token}` };
    const socket = new WebSocket(address, { headers });
    const tty = process.stdout.isTTY;
    return new Promise<number>((resolve) => {
      socket.on('message', (data) => {
        const message = JSON.parse(data.toString()) as ServerMessage;
        if (values.json) {
          process.stdout.write(`${data.toString()}\n`);
          return;
        }
        if (message.type === 'state') process.stdout.write(`${describeSnapshot(message.state).join('\n')}\n`);
        else if (message.type === 'dropped')
          process.stdout.write(`(${message.count} messages dropped while this terminal lagged)\n`);
        else if (message.type === 'error') process.stderr.write(`lonas watch: the server says: ${message.message}\n`);
        else {
          const line = describeEvent(message.event);
          if (line === undefined) return;
          // On a terminal, steps overwrite each other; everything else stays.
          if (tty && message.event.type === 'train.step') process.stdout.write(`\r\x1b[K${line}`);
          else process.stdout.write(`${tty ? '\r\x1b[K' : ''}${line}\n`);
        }
      });
      socket.on('unexpected-response', (_request, response) => {
        process.stderr.write(
          `lonas watch: ${address} refused the connection (HTTP ${response.statusCode}${response.statusCode === 401 ? ': wrong or missing --token' : ''})\n`,
        );
        resolve(1);
      });
      socket.on('error', (error) => {
        process.stderr.write(`lonas watch: ${address}: ${error.message}\n`);
        resolve(1);
      });
      socket.on('close', () => resolve(0));
    });
  },
};
