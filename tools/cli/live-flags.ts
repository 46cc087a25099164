import type { Observable } from 'rxjs';
import { LiveServer } from '../../actors/live';
import type { LonasEvent } from '../../src/events';
import { UsageError } from './command';

/** `--live [host:]port` and `--live-token`, for every command that runs something worth watching. */
export const liveFlagOptions = {
  live: { type: 'string' },
  'live-token': { type: 'string' },
} as const;

export const liveFlagsUsage = `  --live [HOST:]PORT    stream events over WebSocket (default host 127.0.0.1; 0 picks a port)
  --live-token TOKEN    required by clients (as ?token= or a Bearer header); needed for non-loopback hosts`;

export function parseLiveAddress(value: string): { host: string; port: number } {
  const match = /^(?:\[?([^\]]*?)\]?:)?(\d+)$/.exec(value);
  if (match === null) throw new UsageError(`--live takes [host:]port, got '${value}'`);
  const port = Number(match[2]);
  if (port > 65535) throw new UsageError(`--live port ${port} is out of range`);
  return { host: match[1] || '127.0.0.1', port };
}

/** Starts the live server when --live is given, and says where on stderr. */
export async function startLive(
  events: Observable<LonasEvent>,
  values: { live?: string; 'live-token'?: string },
  run: Record<string, unknown>,
): Promise<LiveServer | undefined> {
  if (values.live === undefined) return undefined;
  const { host, port } = parseLiveAddress(values.live);
  const server = await LiveServer.start(events, { host, port, token: values['live-token'], run });
  const query = values['live-token'] === undefined ? '' : '?token=<token>';
  process.stderr.write(`lonas: live at ${server.url}; dashboard at ${server.url.replace(/^ws:/, 'http:')}/${query}\n`);
  return server;
}
