import { from } from 'rxjs';
import { LiveServer } from '../live/live-server';
import { readEvents } from '../../src/live/event-log';
import { parseFlags, UsageError, type Command } from './command';
import { LIVE_TOKEN_VARIABLE, liveFlagOptions, liveToken, parseLiveAddress } from './live-flags';

const usage = `usage: lonas replay OUTPUT_DIR --live [HOST:]PORT [--live-token TOKEN | --live-token-file FILE]

Serves a finished run's recorded events (OUTPUT_DIR/events.jsonl) as a live run, so it can be
watched with lonas watch; stops on Ctrl-C. Lines that are not events (a torn last line left by a
crash) are skipped, with one warning. The token may also come from the environment variable ${LIVE_TOKEN_VARIABLE}.`;

export const replayCommand: Command = {
  name: 'replay',
  summary: "serve a finished run's recorded events for watching",
  usage,
  async run(args) {
    const [folder, ...rest] = args;
    if (folder === undefined || folder.startsWith('--')) throw new UsageError("give the run's output folder");
    const values = parseFlags(rest, liveFlagOptions);
    if (values.live === undefined) throw new UsageError('--live [HOST:]PORT is required');
    const token = liveToken(values);
    const { events, skipped, firstSkipped } = readEvents(folder);
    if (firstSkipped !== undefined) {
      process.stderr.write(
        `lonas replay: skipped ${skipped} line${skipped === 1 ? '' : 's'} of ${folder}/events.jsonl that ${skipped === 1 ? 'is' : 'are'} not events (first: line ${firstSkipped.line}, ${firstSkipped.reason})\n`,
      );
    }
    const { host, port } = parseLiveAddress(values.live);
    const server = await LiveServer.start(from(events), { host, port, token, run: { replay: folder } });
    process.stderr.write(`lonas: replaying ${events.length} events of ${folder} at ${server.url}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.close();
    return 0;
  },
};
