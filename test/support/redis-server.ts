import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

/** Whether Debian's redis-server is installed (CI installs it; elsewhere its tests skip). */
export const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;

/**
 * `describe` when redis-server is installed, else a skipped block that says why; on CI a missing
 * server is an error, not a skip.
 */
export function describeWithRedis(name: string, body: () => void): void {
  if (hasRedisServer) describe(name, body);
  else if (process.env.CI) throw new Error('redis-server is missing: .ci/run installs it');
  else describe.skip(`${name} (skipped: no redis-server; apt-get install redis-server)`, body);
}

/** A free loopback TCP port. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface RedisServerOptions {
  password?: string;
  /** Serve TLS only, with this certificate and key (PEM files) and CA. */
  tls?: { cert: string; key: string; ca: string };
}

/** A redis-server of a test's own: loopback, a free port, its data (append-only, so a restart keeps it) in a temporary folder. */
export interface TestRedis {
  port: number;
  url: string;
  folder: string;
  /** Stops it (SIGTERM: it saves first) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
}

export async function startRedis(options: RedisServerOptions = {}): Promise<TestRedis> {
  const port = await freePort();
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'lonas-redis-'));
  const args = [
    ...['--bind', '127.0.0.1', '--dir', folder, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'],
    ...['--daemonize', 'no', '--protected-mode', 'no', '--logfile', ''],
    ...(options.password === undefined ? [] : ['--requirepass', options.password]),
    ...(options.tls === undefined
      ? ['--port', String(port)]
      : [
          ...['--port', '0', '--tls-port', String(port), '--tls-auth-clients', 'no'],
          ...[
            '--tls-cert-file',
            options.tls.cert,
            '--tls-key-file',
            options.tls.key,
            '--tls-ca-cert-file',
            options.tls.ca,
          ],
        ]),
  ];
  let child: ChildProcess | undefined;
  const start = async () => {
    const started = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const look = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) resolve();
      };
      started.stdout?.on('data', look);
      started.stderr?.on('data', look);
      started.on('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
    });
  };
  await start();
  const scheme = options.tls === undefined ? 'redis' : 'rediss';
  const auth = options.password === undefined ? '' : `:${encodeURIComponent(options.password)}@`;
  return {
    port,
    url: `${scheme}://${auth}${options.tls === undefined ? '127.0.0.1' : 'localhost'}:${port}`,
    folder,
    start,
    stop: async () => {
      const running = child;
      child = undefined;
      if (running === undefined || running.exitCode !== null) return;
      await new Promise((resolve) => {
        running.on('exit', resolve);
        running.kill('SIGTERM');
      });
    },
  };
}

/** Stops `redis` and removes its data. */
export async function removeRedis(redis: TestRedis | undefined): Promise<void> {
  if (redis === undefined) return;
  await redis.stop();
  fs.rmSync(redis.folder, { recursive: true, force: true });
}
