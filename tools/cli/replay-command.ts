import { from } from 'rxjs';
import { LiveServer } from '../../actors/live';
import { readEvents } from '../../src/live/event-log';
import { parseFlags, UsageError, type Command } from './command';
import { parseLiveAddress } from './live-flags';

const usage = `usage: lonas replay OUTPUT_DIR --live [HOST:]PORT [--live-token TOKEN]

Serves a finished run's recorded events (OUTPUT_DIR/events.jsonl) as a live run, so it can be
watched with lonas watch; stops on Ctrl-C.`;

export const replayCommand: Command = {
  name: 'replay',
  summary: "serve a finished run's recorded events for watching",
  usage,
  async run(args) {
    const [folder, ...rest] = args;
    if (folder === undefined || folder.startsWith('--')) throw new UsageError("give the run's output folder");
    const values = parseFlags(rest, { live: { type: 'string' }, 'live-token': { type: 'string' } });
    if (values.live === undefined) throw new UsageError('--live [HOST:]PORT is required');
    const events = readEvents(folder);
    const { host, port } = parseLiveAddress(values.live);
    const server = await LiveServer.start(from(events), {
      host,
      port,
      token: values['live-token'],
      run: { replay: folder },
    });
    process.stderr.write(`lonas: replaying ${events.length} events of ${folder} at ${server.url}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.close();
    return 0;
  },
};
