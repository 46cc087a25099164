import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

/** Why Debian's redis-server cannot run here, or undefined when it is installed. */
export function redisServerMissing(): string | undefined {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.status === 0) return undefined;
  const why = probe.error?.message ?? `exited with ${probe.status}: ${probe.stderr}`;
  return `redis-server is not available (${why.trim()}); apt-get install redis-server`;
}

/** A free loopback TCP port. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface LocalRedisOptions {
  password?: string;
  /** Serve TLS only, with this certificate, key and CA (PEM files). */
  tls?: { cert: string; key: string; ca: string };
  /** Keep the data on disk (append-only, fsync always), so that a restart finds it (default false: nothing written). */
  persist?: boolean;
}

/** A redis-server of a test's or benchmark's own: loopback, a free port, a temporary folder. */
export interface LocalRedis {
  port: number;
  /** With the password, if any, in it. */
  url: string;
  folder: string;
  /** Stops it (SIGTERM: a persisting server saves first) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port (and, persisting, the same data). */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  remove(): Promise<void>;
}

export async function startLocalRedis(options: LocalRedisOptions = {}): Promise<LocalRedis> {
  const port = await freePort();
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'lonas-redis-'));
  const args = [
    ...['--bind', '127.0.0.1', '--dir', folder, '--save', '', '--daemonize', 'no', '--protected-mode', 'no'],
    ...['--logfile', '', '--appendonly', options.persist === true ? 'yes' : 'no', '--appendfsync', 'always'],
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
      started.on('error', reject);
      started.on('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
    });
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null) return;
    await new Promise((resolve) => {
      running.on('exit', resolve);
      running.kill('SIGTERM');
    });
  };
  try {
    await start();
  } catch (error) {
    fs.rmSync(folder, { recursive: true, force: true });
    throw error;
  }
  const scheme = options.tls === undefined ? 'redis' : 'rediss';
  const auth = options.password === undefined ? '' : `:${encodeURIComponent(options.password)}@`;
  return {
    port,
    // A TLS certificate names a host, not an address.
    url: `${scheme}://${auth}${options.tls === undefined ? '127.0.0.1' : 'localhost'}:${port}`,
    folder,
    start,
    stop,
    remove: async () => {
      await stop();
      fs.rmSync(folder, { recursive: true, force: true });
    },
  };
}
