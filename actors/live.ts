import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import type { AddressInfo } from 'net';
import type { Observable, Subscription } from 'rxjs';
import { WebSocketServer, type WebSocket } from 'ws';
import { packagePath } from '../src/backend/build-artifacts';
import type { LonasEvent } from '../src/events';
import { LiveState } from '../src/live/live-state';
import { parseClientMessage, topicOf, TOPICS, type ServerMessage, type Topic } from '../src/live/protocol';

export interface LiveServerOptions {
  /** Default 127.0.0.1; any other address needs a token. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  token?: string;
  /** Settings of the run, sent to every client in the state. */
  run?: Record<string, unknown>;
  /** Bytes a client may have queued before its messages are dropped (default 1 MiB). */
  maxBufferedBytes?: number;
}

export class LiveSecurityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LiveSecurityError';
  }
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

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
}

/**
 * Broadcasts a run's events over WebSocket. A client first gets the state so far (run settings,
 * curves, front), then every event of its topics in order. It never slows the run: a client
 * whose socket has more than `maxBufferedBytes` queued has messages dropped (and is told how many
 * once it catches up) instead of growing memory or blocking the emitter. Loopback only unless a
 * token is given. Over HTTP the same port serves the dashboard (/) and the state as JSON (/state).
 */
export class LiveServer {
  private readonly clients = new Set<Client>();
  private readonly state: LiveState;
  private sequence = 0;
  private subscription?: Subscription;

  private constructor(
    private readonly http: http.Server,
    private readonly sockets: WebSocketServer,
    private readonly options: LiveServerOptions,
  ) {
    this.state = new LiveState(options.run);
  }

  static async start(events: Observable<LonasEvent>, options: LiveServerOptions): Promise<LiveServer> {
    const host = options.host ?? '127.0.0.1';
    if (!LOOPBACK.test(host) && (options.token === undefined || options.token === '')) {
      throw new LiveSecurityError(
        `--live ${host}:${options.port} would expose the run beyond this machine: give --live-token`,
      );
    }
    const server = http.createServer((request, response) => live.serveHttp(request, response));
    const sockets = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
    const live = new LiveServer(server, sockets, { ...options, host });
    server.on('upgrade', (request, socket, head) => {
      if (!live.authorised(request)) {
        socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
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

  private authorised(request: http.IncomingMessage): boolean {
    if (this.options.token === undefined) return true;
    const url = new URL(request.url ?? '/', 'http://localhost');
    const bearer = request.headers.authorization?.replace(/^Bearer\s+/i, '');
    return url.searchParams.get('token') === this.options.token || bearer === this.options.token;
  }

  private serveHttp(request: http.IncomingMessage, response: http.ServerResponse): void {
    if (!this.authorised(request)) {
      response.writeHead(401).end();
      return;
    }
    const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
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
    const client: Client = { socket, topics: new Set(TOPICS), dropped: 0 };
    this.clients.add(client);
    this.send(client, { type: 'state', state: this.state.current }, true);
    socket.on('message', (data) => {
      const message = parseClientMessage(data.toString());
      if (typeof message === 'string') {
        this.send(client, { type: 'error', message }, true);
        return;
      }
      for (const topic of message.topics) {
        if (message.type === 'subscribe') client.topics.add(topic);
        else client.topics.delete(topic);
      }
    });
    socket.on('close', () => this.clients.delete(client));
    socket.on('error', () => this.clients.delete(client));
  }

  /** Sends unless the client lags; `always` is for replies and the state, which are never dropped. */
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
