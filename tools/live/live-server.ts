import { createHash, timingSafeEqual } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import type { AddressInfo } from 'net';
import type { Observable, Subscription } from 'rxjs';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { packagePath } from '../../src/backend/build-artifacts';
import type { LonasEvent } from '../../src/events';
import { FailureCount } from '../../src/live/failure-count';
import { LiveState } from '../../src/live/live-state';
import {
  isEvent,
  parseClientMessage,
  topicOf,
  TOPICS,
  truncate,
  type ServerMessage,
  type Topic,
} from '../../src/live/protocol';

export interface LiveServerOptions {
  /** Default 127.0.0.1; any other address needs a token of at least `MIN_REMOTE_TOKEN_LENGTH` characters. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  token?: string;
  /** Settings of the run, sent to every client in the state. */
  run?: Record<string, unknown>;
  /** Bytes a client may have queued before its messages are dropped (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Invalid messages a client may send within `invalidWindowMs` before it is closed (default 32). */
  maxInvalidMessages?: number;
  /** Failed token attempts a remote address may make within a minute before its failures get 429 (default 10). */
  maxFailedAttempts?: number;
  /** Failed token attempts all addresses together may make within a minute before every failure gets 429 (default 100). */
  maxGlobalFailedAttempts?: number;
}

/** The window over which invalid client messages are counted. */
const INVALID_WINDOW_MS = 60_000;
/** The shortest token a server reachable from other machines takes: 16 random characters are beyond guessing. */
export const MIN_REMOTE_TOKEN_LENGTH = 16;
/** The environment variable that may hold the token (a flag's value shows in `ps`; the environment does not). */
export const LIVE_TOKEN_VARIABLE = 'LONAS_LIVE_TOKEN';
/** Largest WebSocket frame a client may send; a larger one closes its connection (1009). */
const MAX_PAYLOAD = 64 * 1024;

export class LiveSecurityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LiveSecurityError';
  }
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;
/** Host names a request may name on a loopback server (`localhost` and its subdomains resolve to it). */
const LOOPBACK_NAME = /^(127\.\d+\.\d+\.\d+|::1|\[::1\]|localhost|[a-z0-9-]+\.localhost)\.?$/i;
const WILDCARD = new Set(['0.0.0.0', '::', '']);

/** Why a server on `host` may not start with this token (undefined: it may). */
function tokenShortfall(host: string, port: number, token: string | undefined): string | undefined {
  const length = token?.length ?? 0;
  if (LOOPBACK.test(host) || length >= MIN_REMOTE_TOKEN_LENGTH) return undefined;
  return (
    `--live ${host}:${port} would expose the run beyond this machine: give --live-token ` +
    `(or --live-token-file, or ${LIVE_TOKEN_VARIABLE}) of at least ${MIN_REMOTE_TOKEN_LENGTH} characters` +
    (length === 0 ? '' : ` (the one given has ${length})`)
  );
}

/** The host name of a Host header or origin's authority, without port or brackets (lowercase). */
function hostName(authority: string): string {
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(authority);
  if (bracketed !== null) return bracketed[1].toLowerCase();
  // An unbracketed IPv6 address (several colons) has no port.
  if ((authority.match(/:/g) ?? []).length > 1) return authority.toLowerCase();
  return authority.replace(/:\d*$/, '').toLowerCase();
}

/** A text frame's payload as a string (ws hands it over as one or several buffers). */
const textOf = (data: RawData): string =>
  (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer)).toString('utf8');

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

const assetFolder = packagePath('tools', 'dashboard');

/** The dashboard page and its scripts (Chart.js from the installed package: the page works offline). */
const DASHBOARD: Record<string, { file: string; type: string }> = {
  '/': { file: path.join(assetFolder, 'index.html'), type: 'text/html; charset=utf-8' },
  '/dashboard.js': { file: path.join(assetFolder, 'dashboard.js'), type: 'text/javascript' },
  '/chart.umd.min.js': {
    file: path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js'),
    type: 'text/javascript',
  },
};

interface Client {
  socket: WebSocket;
  topics: Set<Topic>;
  dropped: number;
  /** When each of its recent invalid messages came (within the window). */
  invalid: number[];
}

/** Why a request is refused, as an HTTP status and a line. */
type Refusal = { status: number; reason: string; headers?: Record<string, string> };

/**
 * Broadcasts a run's events over WebSocket. A client first gets the state so far (run settings,
 * curves, front), then every event of its topics in order. It never slows the run: a client
 * whose socket has more than `maxBufferedBytes` queued has messages dropped (and is told how many
 * once it catches up) instead of growing memory or blocking the emitter. Loopback only unless a
 * token is given. Over HTTP the same port serves the dashboard (/) and the state as JSON (/state).
 *
 * Nothing a client sends can end or slow the run: client messages are validated (never thrown
 * on), answered within the same backlog bound as events, and a client that keeps sending invalid
 * ones is closed. Requests must name a loopback host or the bound address (no DNS rebinding),
 * come from the page's own origin or none (no other web page), use GET, and present the token
 * when there is one (compared in constant time). Failures beyond a budget per address, or beyond a
 * global one, get 429; the right token is served all the same, so that no one can lock the user out.
 */
export class LiveServer {
  private readonly clients = new Set<Client>();
  private readonly state: LiveState;
  private readonly token?: Buffer;
  /** Failed token attempts per remote address, the address that failed longest ago first. */
  private readonly failures = new Map<string, FailureCount>();
  /** Failed token attempts from all addresses: forgetting an address never resets this one. */
  private readonly allFailures = new FailureCount();
  private sequence = 0;
  private subscription?: Subscription;

  private constructor(
    private readonly http: http.Server,
    private readonly sockets: WebSocketServer,
    private readonly options: LiveServerOptions,
  ) {
    this.state = new LiveState(options.run);
    if (options.token !== undefined && options.token !== '') this.token = digest(options.token);
  }

  static async start(events: Observable<LonasEvent>, options: LiveServerOptions): Promise<LiveServer> {
    const host = options.host ?? '127.0.0.1';
    const shortfall = tokenShortfall(host, options.port, options.token);
    if (shortfall !== undefined) throw new LiveSecurityError(shortfall);
    const server = http.createServer((request, response) => live.serveHttp(request, response));
    const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD });
    const live = new LiveServer(server, sockets, { ...options, host });
    server.on('upgrade', (request, socket, head) => {
      socket.on('error', () => undefined);
      const refusal = live.refuse(request);
      if (refusal !== undefined) {
        const headers = Object.entries(refusal.headers ?? {}).map(([name, value]) => `${name}: ${value}\r\n`);
        socket.end(
          `HTTP/1.1 ${refusal.status} ${http.STATUS_CODES[refusal.status]}\r\n${headers.join('')}Connection: close\r\n\r\n`,
        );
        return;
      }
      sockets.handleUpgrade(request, socket, head, (ws) => live.join(ws));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, host, () => resolve());
    });
    live.subscription = events.subscribe((event) => live.broadcast(event));
    return live;
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  get url(): string {
    const host = this.options.host as string;
    return `ws://${host.includes(':') ? `[${host}]` : host}:${this.port}`;
  }

  /** Whether a request's Host (or an Origin's host) names this server rather than some other site. */
  private ownHost(name: string): boolean {
    const bound = (this.options.host as string).toLowerCase();
    if (LOOPBACK.test(bound) || WILDCARD.has(bound)) {
      if (LOOPBACK_NAME.test(name)) return true;
    }
    if (name === bound.replace(/^\[|\]$/g, '')) return true;
    // Bound to every address (which needs a token): the machine's names are not known here, and
    // a rebinding page cannot present the token.
    return WILDCARD.has(bound) && this.token !== undefined;
  }

  /** Why a request is refused (undefined: it is served). */
  private refuse(request: http.IncomingMessage): Refusal | undefined {
    const host = request.headers.host;
    if (host === undefined || !this.ownHost(hostName(host))) {
      return {
        status: 421,
        reason: `this server does not answer for host ${truncate(JSON.stringify(host ?? null), 80)}`,
      };
    }
    const origin = request.headers.origin;
    // Browsers send Origin with WebSocket handshakes and cross-site requests: only the dashboard,
    // served from this same host and port, may connect. Non-browser clients send none.
    if (origin !== undefined && origin !== `http://${host}` && origin !== `https://${host}`) {
      return { status: 403, reason: `origin ${truncate(JSON.stringify(origin), 80)} is not this server's` };
    }
    if (request.method !== 'GET') {
      return {
        status: 405,
        reason: `${truncate(request.method ?? '', 20)} is not served: only GET`,
        headers: { allow: 'GET' },
      };
    }
    if (this.token === undefined || this.presentsToken(request)) return undefined;
    const address = request.socket.remoteAddress ?? '';
    const now = Date.now();
    const failures = this.failures.get(address) ?? new FailureCount();
    const globalLimit = this.options.maxGlobalFailedAttempts ?? 100;
    if (failures.full(now, this.options.maxFailedAttempts ?? 10) || this.allFailures.full(now, globalLimit)) {
      return { status: 429, reason: 'too many failed token attempts: wait a minute', headers: { 'retry-after': '60' } };
    }
    failures.add(now);
    this.allFailures.add(now);
    this.failures.delete(address);
    this.failures.set(address, failures);
    // No more addresses than the global budget can have failed within the window, so the one that
    // failed longest ago, forgotten here, has no failure left in it.
    if (this.failures.size > globalLimit) this.failures.delete(this.failures.keys().next().value as string);
    return { status: 401, reason: 'wrong or missing token' };
  }

  /** Whether the request carries the token (as ?token= or a Bearer header), compared in constant time. */
  private presentsToken(request: http.IncomingMessage): boolean {
    const token = this.token as Buffer;
    let query: string | null = null;
    try {
      query = new URL(request.url ?? '/', 'http://localhost').searchParams.get('token');
    } catch {
      // an unparseable URL carries no token
    }
    const header = request.headers.authorization;
    const bearer = header === undefined ? undefined : /^Bearer\s+(.*)$/is.exec(header)?.[1];
    // Hashes have equal lengths, so timingSafeEqual compares them without leaking the token's length.
    const matches = (candidate: string | null | undefined) =>
      typeof candidate === 'string' && timingSafeEqual(digest(candidate), token);
    // Both compared, so the time taken does not say which one was given.
    const byQuery = matches(query);
    const byHeader = matches(bearer);
    return byQuery || byHeader;
  }

  private serveHttp(request: http.IncomingMessage, response: http.ServerResponse): void {
    const refusal = this.refuse(request);
    if (refusal !== undefined) {
      response
        .writeHead(refusal.status, { 'content-type': 'text/plain', ...refusal.headers })
        .end(`${refusal.reason}\n`);
      return;
    }
    let pathname: string;
    try {
      pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
    } catch {
      response.writeHead(400, { 'content-type': 'text/plain' }).end('bad request\n');
      return;
    }
    if (pathname === '/state') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.state.current));
      return;
    }
    const asset = DASHBOARD[pathname];
    if (asset === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    response
      .writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-store' })
      .end(fs.readFileSync(asset.file));
  }

  private join(socket: WebSocket): void {
    const client: Client = { socket, topics: new Set(TOPICS), dropped: 0, invalid: [] };
    this.clients.add(client);
    this.send(client, { type: 'state', state: this.state.current }, true);
    socket.on('message', (data, isBinary) => {
      try {
        this.receive(client, data, isBinary);
      } catch {
        // Validation never throws; should anything else, the client goes, never the run.
        this.clients.delete(client);
        socket.terminate();
      }
    });
    socket.on('close', () => this.clients.delete(client));
    socket.on('error', () => this.clients.delete(client));
  }

  private receive(client: Client, data: RawData, isBinary: boolean): void {
    const text = isBinary ? undefined : textOf(data);
    const message =
      text === undefined ? 'binary messages are not understood: send JSON text' : parseClientMessage(text);
    if (typeof message !== 'string') {
      for (const topic of message.topics) {
        if (message.type === 'subscribe') client.topics.add(topic);
        else client.topics.delete(topic);
      }
      return;
    }
    const now = Date.now();
    client.invalid = client.invalid.filter((t) => now - t < INVALID_WINDOW_MS);
    client.invalid.push(now);
    const limit = this.options.maxInvalidMessages ?? 32;
    if (client.invalid.length > limit) {
      this.clients.delete(client);
      client.socket.close(1008, `more than ${limit} invalid messages`);
      return;
    }
    // Replies count against the same backlog bound as events: a client that does not read them loses them.
    this.send(client, { type: 'error', message });
  }

  /** Sends unless the client lags; `always` is for the state, which is never dropped. */
  private send(client: Client, message: ServerMessage, always = false): void {
    if (client.socket.readyState !== client.socket.OPEN) return;
    const limit = this.options.maxBufferedBytes ?? 1 << 20;
    if (!always && client.socket.bufferedAmount > limit) {
      client.dropped += 1;
      return;
    }
    if (client.dropped > 0 && client.socket.bufferedAmount <= limit / 2) {
      client.socket.send(JSON.stringify({ type: 'dropped', count: client.dropped } satisfies ServerMessage));
      client.dropped = 0;
    }
    client.socket.send(JSON.stringify(message));
  }

  private broadcast(event: LonasEvent): void {
    // Events come from the run (or a recording already checked): one of no known type is skipped.
    if (!isEvent(event)) return;
    this.state.apply(event);
    const message: ServerMessage = { type: 'event', seq: ++this.sequence, event };
    const topic = topicOf(event);
    for (const client of this.clients) if (client.topics.has(topic)) this.send(client, message);
  }

  async close(): Promise<void> {
    this.subscription?.unsubscribe();
    for (const client of this.clients) client.socket.terminate();
    this.sockets.close();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}
