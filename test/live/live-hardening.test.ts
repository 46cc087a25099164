import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { Subject } from 'rxjs';
import WebSocket from 'ws';
import { LiveServer } from '../../actors/live';
import type { LonasEvent } from '../../src/events';
import { readEvents } from '../../src/live/event-log';
import { parseClientMessage, parseServerMessage, type ServerMessage } from '../../src/live/protocol';
import { liveToken } from '../../tools/cli/live-flags';
import { trainStep } from '../support/events';

const step = (globalStep: number): LonasEvent => trainStep(globalStep, { loss: 1 / globalStep, subnet: { 0: 32 } });

/** A client that collects every message and says when it closes (with the code). */
function connect(url: string, options: WebSocket.ClientOptions = {}) {
  return new Promise<{ socket: WebSocket; messages: ServerMessage[]; closed: Promise<number> }>((resolve, reject) => {
    const socket = new WebSocket(url, options);
    const messages: ServerMessage[] = [];
    const closed = new Promise<number>((done) => socket.on('close', (code) => done(code)));
    socket.on('message', (data) => messages.push(JSON.parse(data.toString())));
    socket.on('open', () => resolve({ socket, messages, closed }));
    socket.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    socket.on('error', reject);
  });
}

/** Waits until `condition` holds, checking after each message (the wait is on events, not a clock). */
async function until(socket: WebSocket, condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => socket.once('message', resolve));
}

/** A plain HTTP request with the given method and headers; resolves to the status. */
function request(port: number, options: { method?: string; headers?: Record<string, string>; path?: string }) {
  return new Promise<number>((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path ?? '/state',
        headers: options.headers,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('client messages are validated, never thrown on', () => {
  it('answers JSON non-objects, wrong types, arrays, huge numbers and binary frames with bounded errors, and keeps streaming', async () => {
    const events = new Subject<LonasEvent>();
    const server = await LiveServer.start(events, { port: 0 });
    try {
      const client = await connect(server.url);
      // Before the fix, `null` threw a TypeError in the message handler: the process (here, jest) died.
      const bad = [
        'null',
        '123',
        '"subscribe"',
        'true',
        '[]',
        '[{"type":"subscribe","topics":["train"]}]',
        '{"type":123}',
        '{"type":"subscribe"}',
        '{"type":"subscribe","topics":null}',
        '{"type":"subscribe","topics":"train"}',
        '{"type":"subscribe","topics":[1e999]}',
        `{"type":"subscribe","topics":[${'9'.repeat(400)}]}`,
        '{"type":"subscribe","topics":["train"],"__proto__":{"x":1}}',
        `{"type":"${'x'.repeat(3000)}","topics":[]}`,
        `{"type":"subscribe","topics":[${Array(800).fill('"zz"').join(',')}]}`,
      ];
      for (const text of bad) client.socket.send(text);
      client.socket.send(Buffer.from([0, 1, 2]), { binary: true });
      await until(client.socket, () => client.messages.length === 1 + bad.length + 1);
      const errors = client.messages.slice(1);
      expect(errors.every((m) => m.type === 'error')).toBe(true);
      for (const m of errors) expect((m as { message: string }).message.length).toBeLessThan(300);
      expect((errors[0] as { message: string }).message).toContain('got null');
      // The client still gets the run's events.
      events.next(step(1));
      await until(client.socket, () => client.messages.length === bad.length + 3);
      expect(client.messages.at(-1)).toMatchObject({ type: 'event', seq: 1 });
      client.socket.close();
    } finally {
      await server.close();
    }
  });

  it('parses without throwing whatever it is given', () => {
    for (const text of ['null', '{"type":123}', '[]', '1e999', '{}', '"x"', '{"type":"subscribe","topics":[null]}'])
      expect(typeof parseClientMessage(text)).toBe('string');
    expect(parseClientMessage('{"type":"subscribe","topics":["train","train"]}')).toEqual({
      type: 'subscribe',
      topics: ['train'],
    });
    for (const text of ['null', 'x', '{"type":"state","state":null}', '{"type":"event","seq":1,"event":{"type":123}}'])
      expect(typeof parseServerMessage(text)).toBe('string');
    expect(parseServerMessage(JSON.stringify({ type: 'error', message: 'm'.repeat(1e6) }))).toMatchObject({
      type: 'error',
    });
  });

  it('bounds error replies and closes a client that keeps sending invalid messages', async () => {
    const events = new Subject<LonasEvent>();
    const server = await LiveServer.start(events, { port: 0, maxInvalidMessages: 20 });
    try {
      const flooder = await connect(server.url);
      const other = await connect(server.url);
      // Before the fix every one of these got a reply (a million took the server from 119 to 466 MiB).
      for (let i = 0; i < 1000; i++) flooder.socket.send('null');
      expect(await flooder.closed).toBe(1008);
      expect(flooder.messages.filter((m) => m.type === 'error').length).toBeLessThanOrEqual(20);
      // The others, and the run, go on.
      events.next(step(1));
      await until(other.socket, () => other.messages.length === 2);
      other.socket.close();
    } finally {
      await server.close();
    }
  });
});

describe('requests are checked before anything is served', () => {
  it('refuses foreign Host (DNS rebinding) and Origin headers and methods other than GET, and serves its own page', async () => {
    const server = await LiveServer.start(new Subject(), { port: 0 });
    const own = `127.0.0.1:${server.port}`;
    try {
      expect(await request(server.port, {})).toBe(200);
      expect(await request(server.port, { headers: { host: `localhost:${server.port}` } })).toBe(200);
      expect(await request(server.port, { headers: { host: `evil.example:${server.port}` } })).toBe(421);
      expect(await request(server.port, { headers: { origin: 'http://evil.example' } })).toBe(403);
      expect(await request(server.port, { headers: { origin: `http://${own}` } })).toBe(200);
      for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS'])
        expect(await request(server.port, { method })).toBe(405);
      await expect(connect(server.url, { headers: { host: `attacker.example:${server.port}` } })).rejects.toThrow(
        'HTTP 421',
      );
      await expect(connect(server.url, { origin: 'https://evil.example' })).rejects.toThrow('HTTP 403');
      // The dashboard connects back from its own origin; command-line clients send none.
      const page = await connect(server.url, { origin: `http://${own}` });
      page.socket.close();
    } finally {
      await server.close();
    }
  });

  it('takes the token from a query or header and limits failed attempts per address', async () => {
    const server = await LiveServer.start(new Subject(), { port: 0, token: 's3cret', maxFailedAttempts: 3 });
    try {
      expect(await request(server.port, { path: '/state?token=s3cret' })).toBe(200);
      expect(await request(server.port, { headers: { authorization: 'Bearer s3cret' } })).toBe(200);
      expect(await request(server.port, { path: '/state?token=s3cre' })).toBe(401);
      expect(await request(server.port, { path: '/state?token=s3cret-and-more' })).toBe(401);
      await expect(connect(server.url, { headers: { authorization: 'Bearer wrong' } })).rejects.toThrow('HTTP 401');
      // Three failures: now even the right token waits out the window.
      expect(await request(server.port, { path: '/state?token=s3cret' })).toBe(429);
      await expect(connect(`${server.url}/?token=s3cret`)).rejects.toThrow('HTTP 429');
    } finally {
      await server.close();
    }
  });

  it('reads the token from the flag, a file or the environment, not from two flags', () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'lonas-token-'));
    try {
      const file = path.join(folder, 'token');
      fs.writeFileSync(file, 'from-file\n');
      expect(liveToken({ 'live-token': 'flag' }, { LONAS_LIVE_TOKEN: 'env' })).toBe('flag');
      expect(liveToken({ 'live-token-file': file }, { LONAS_LIVE_TOKEN: 'env' })).toBe('from-file');
      expect(liveToken({}, { LONAS_LIVE_TOKEN: 'env' })).toBe('env');
      expect(liveToken({}, {})).toBeUndefined();
      expect(() => liveToken({ 'live-token': 'a', 'live-token-file': file }, {})).toThrow('not both');
      fs.writeFileSync(file, '\n');
      expect(() => liveToken({ 'live-token-file': file }, {})).toThrow('the file is empty');
      expect(() => liveToken({ 'live-token-file': path.join(folder, 'none') }, {})).toThrow('ENOENT');
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('a recorded run', () => {
  it('is read past a torn last line, null and unknown types, which are counted', () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'lonas-events-'));
    try {
      const lines = [
        JSON.stringify(step(1)),
        'null',
        '{"type": 123}',
        '[1]',
        JSON.stringify(step(2)),
        '{"type":"train.st',
      ];
      fs.writeFileSync(path.join(folder, 'events.jsonl'), lines.join('\n'));
      // Before the fix the torn line failed the whole run, and null or type 123 crashed the server.
      const read = readEvents(folder);
      expect(read.events.map((e) => (e as { globalStep: number }).globalStep)).toEqual([1, 2]);
      expect(read.skipped).toBe(4);
      expect(read.firstSkipped).toEqual({ line: 2, reason: 'not an event of a known type' });
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});
