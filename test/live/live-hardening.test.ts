import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { Subject } from 'rxjs';
import WebSocket from 'ws';
import { LiveServer, MIN_REMOTE_TOKEN_LENGTH } from '../../tools/live/live-server';
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

/** A plain HTTP request with the given method and headers, from `from` (a loopback address); resolves to the status. */
function request(
  port: number,
  options: { method?: string; headers?: Record<string, string>; path?: string; from?: string },
) {
  return new Promise<number>((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path ?? '/state',
        headers: options.headers,
        localAddress: options.from,
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

  it('takes the token from a query or header and limits failed attempts per address, never refusing the token', async () => {
    const server = await LiveServer.start(new Subject(), { port: 0, token: 's3cret', maxFailedAttempts: 3 });
    try {
      expect(await request(server.port, { path: '/state?token=s3cret' })).toBe(200);
      expect(await request(server.port, { headers: { authorization: 'Bearer s3cret' } })).toBe(200);
      expect(await request(server.port, { path: '/state?token=s3cre' })).toBe(401);
      expect(await request(server.port, { path: '/state?token=s3cret-and-more' })).toBe(401);
      await expect(connect(server.url, { headers: { authorization: 'Bearer wrong' } })).rejects.toThrow('HTTP 401');
      // Three failures: further ones wait out the window, wherever they come from on this address.
      expect(await request(server.port, { path: '/state?token=guess' })).toBe(429);
      await expect(connect(server.url)).rejects.toThrow('HTTP 429');
      // Before the fix the right token got 429 too: anyone on the machine could lock the user out.
      expect(await request(server.port, { path: '/state?token=s3cret' })).toBe(200);
      const user = await connect(`${server.url}/?token=s3cret`);
      user.socket.close();
      // Other addresses keep their own budget.
      expect(await request(server.port, { path: '/state?token=guess', from: '127.0.0.2' })).toBe(401);
    } finally {
      await server.close();
    }
  });

  it('limits failed attempts from all addresses together: a flood of addresses gets no more guesses', async () => {
    const server = await LiveServer.start(new Subject(), {
      port: 0,
      token: 's3cret',
      maxFailedAttempts: 3,
      maxGlobalFailedAttempts: 5,
    });
    try {
      const guess = (from: string) => request(server.port, { path: '/state?token=guess', from });
      for (let i = 0; i < 3; i++) expect(await guess('127.0.0.1')).toBe(401);
      expect(await guess('127.0.0.1')).toBe(429);
      // Before the fix each of these 40 addresses had 3 guesses of its own.
      const flood: number[] = [];
      for (let i = 1; i <= 40; i++) flood.push(await guess(`127.0.1.${i}`));
      expect(flood).toEqual([401, 401, ...Array(38).fill(429)]);
      // However many addresses guessed, the first one gets no guesses back.
      expect(await guess('127.0.0.1')).toBe(429);
      expect(await request(server.port, { from: '127.0.1.41' })).toBe(429);
      // The user, from any address, still gets in.
      expect(await request(server.port, { path: '/state?token=s3cret', from: '127.0.1.40' })).toBe(200);
      const user = await connect(server.url, {
        headers: { authorization: 'Bearer s3cret' },
        localAddress: '127.0.0.1',
      });
      user.socket.close();
    } finally {
      await server.close();
    }
  });

  it(`needs a token of ${MIN_REMOTE_TOKEN_LENGTH} characters to bind beyond loopback, naming the ways to give one`, async () => {
    const long = 'x'.repeat(MIN_REMOTE_TOKEN_LENGTH);
    for (const [host, token] of [
      ['0.0.0.0', 'x'],
      ['::', long.slice(1)],
      ['192.0.2.1', long.slice(1)],
    ]) {
      // Before the fix a 1-character token was taken for 0.0.0.0.
      await expect(LiveServer.start(new Subject(), { host, port: 0, token })).rejects.toThrow(
        `--live ${host}:0 would expose the run beyond this machine: give --live-token (or --live-token-file, or ` +
          `LONAS_LIVE_TOKEN) of at least ${MIN_REMOTE_TOKEN_LENGTH} characters (the one given has ${token.length})`,
      );
    }
    for (const [host, token] of [
      ['0.0.0.0', long],
      ['127.0.0.1', 'x'],
    ]) {
      const server = await LiveServer.start(new Subject(), { host, port: 0, token });
      expect(await request(server.port, { headers: { authorization: `Bearer ${token}` } })).toBe(200);
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
