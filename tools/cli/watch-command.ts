import WebSocket from 'ws';
import { describeEvent, describeSnapshot } from '../../src/live/describe';
import { parseServerMessage, truncate } from '../../src/live/protocol';
import { LIVE_TOKEN_VARIABLE } from './live-flags';
import { parseFlags, UsageError, type Command } from './command';

/** Longest line printed for a message (a server's error, the run's settings, an event). */
const MAX_LINE = 1000;

const usage = `usage: lonas watch ws://HOST:PORT [--token TOKEN] [--json]

Shows a run streamed with --live as it goes: progress, loss, stage, the search's front.
Malformed messages are reported (cut short) and skipped; long lines are cut to ${MAX_LINE} characters.

  --token TOKEN   the run's --live-token (or set ${LIVE_TOKEN_VARIABLE})
  --json          print the server's (valid) messages as JSON lines`;

/** Largest message accepted from the server (the state of a long run is a few MiB). */
const MAX_MESSAGE = 64 * 1024 * 1024;

export const watchCommand: Command = {
  name: 'watch',
  summary: 'follow a run streamed with --live, in the terminal',
  usage,
  async run(args) {
    const [address, ...rest] = args;
    if (address === undefined || !/^wss?:\/\//.test(address))
      throw new UsageError("give the run's address, ws://HOST:PORT");
    const values = parseFlags(rest, { token: { type: 'string' }, json: { type: 'boolean', default: false } });
    const token = values.token ?? (process.env[LIVE_TOKEN_VARIABLE] || undefined);
    const headers = token === undefined ? {} : { authorization: `Bearer ${token}` };
    const socket = new WebSocket(address, { headers, maxPayload: MAX_MESSAGE });
    const tty = process.stdout.isTTY;
    /** A line for the terminal: cut short, without control characters a server could use to redraw it. */
    const clean = (line: string) => truncate(line.replace(/\p{Cc}/gu, ' '), MAX_LINE);
    const show = (data: string) => {
      const message = parseServerMessage(data);
      if (typeof message === 'string') {
        process.stderr.write(`lonas watch: skipped a malformed message: ${clean(message)}\n`);
        return;
      }
      if (values.json) {
        process.stdout.write(`${data}\n`);
        return;
      }
      if (message.type === 'state') process.stdout.write(`${describeSnapshot(message.state).map(clean).join('\n')}\n`);
      else if (message.type === 'dropped')
        process.stdout.write(`(${message.count} messages dropped while this terminal lagged)\n`);
      else if (message.type === 'error')
        process.stderr.write(`lonas watch: the server says: ${clean(message.message)}\n`);
      else {
        const described = describeEvent(message.event);
        if (described === undefined) return;
        const line = clean(described);
        // On a terminal, steps overwrite each other; everything else stays.
        if (tty && message.event.type === 'train.step') process.stdout.write(`\r\x1b[K${line}`);
        else process.stdout.write(`${tty ? '\r\x1b[K' : ''}${line}\n`);
      }
    };
    return new Promise<number>((resolve) => {
      socket.on('message', (data, isBinary) => {
        const text = isBinary ? undefined : data.toString();
        if (text === undefined) {
          process.stderr.write('lonas watch: skipped a binary message\n');
          return;
        }
        try {
          show(text);
        } catch (error) {
          // A message of the right type whose fields are not what they should be.
          process.stderr.write(`lonas watch: could not show a message: ${clean(String(error))}: ${clean(text)}\n`);
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
