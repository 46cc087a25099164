import * as fs from 'fs';
import type { Observable } from 'rxjs';
import { LIVE_TOKEN_VARIABLE, LiveServer, MIN_REMOTE_TOKEN_LENGTH } from '../live/live-server';
import type { LonasEvent } from '../../src/events';
import { UsageError } from './command';

/** `--live [host:]port`, `--live-token` and `--live-token-file`, for every command that runs something worth watching. */
export const liveFlagOptions = {
  live: { type: 'string' },
  'live-token': { type: 'string' },
  'live-token-file': { type: 'string' },
} as const;

export { LIVE_TOKEN_VARIABLE };

export const liveFlagsUsage = `  --live [HOST:]PORT    stream events over WebSocket (default host 127.0.0.1; 0 picks a port)
  --live-token TOKEN    required by clients (as ?token= or a Bearer header); needed for non-loopback hosts,
                        which take ${MIN_REMOTE_TOKEN_LENGTH} characters or more
                        (visible to other users in ps: prefer ${LIVE_TOKEN_VARIABLE} or --live-token-file)
  --live-token-file F   read the token from file F (its first line)`;

export interface LiveFlagValues {
  live?: string;
  'live-token'?: string;
  'live-token-file'?: string;
}

/**
 * The live token: --live-token, else --live-token-file's first line, else $LONAS_LIVE_TOKEN, else
 * none. Giving both flags is a mistake; an empty or unreadable file is one too.
 */
export function liveToken(values: LiveFlagValues, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = values['live-token-file'];
  if (values['live-token'] !== undefined && file !== undefined) {
    throw new UsageError('give --live-token or --live-token-file, not both');
  }
  if (values['live-token'] !== undefined) return values['live-token'];
  if (file !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw new UsageError(
        `--live-token-file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      );
    }
    const token = text.split(/\r?\n/)[0].trim();
    if (token === '') throw new UsageError(`--live-token-file ${file}: the file is empty`);
    return token;
  }
  const fromEnv = env[LIVE_TOKEN_VARIABLE];
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

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
  values: LiveFlagValues,
  run: Record<string, unknown>,
): Promise<LiveServer | undefined> {
  if (values.live === undefined) return undefined;
  const { host, port } = parseLiveAddress(values.live);
  const token = liveToken(values);
  let server: LiveServer;
  try {
    server = await LiveServer.start(events, { host, port, token, run });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UsageError(`--live ${host}:${port}: the port is already in use`);
    if (code === 'EADDRNOTAVAIL') throw new UsageError(`--live ${host}:${port}: no such address on this machine`);
    throw error;
  }
  const query = token === undefined ? '' : '?token=<token>';
  process.stderr.write(`lonas: live at ${server.url}; dashboard at ${server.url.replace(/^ws:/, 'http:')}/${query}\n`);
  return server;
}
