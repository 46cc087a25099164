import { Subject } from 'rxjs';
import WebSocket from 'ws';
import { LiveSecurityError, LiveServer } from '../../tools/live/live-server';
import type { LonasEvent } from '../../src/events';
import { trainStep } from '../support/events';
import type { ServerMessage } from '../../src/live/protocol';

const step = (globalStep: number): LonasEvent =>
  trainStep(globalStep, { loss: 1 / globalStep, subnet: { 0: 32, 1: 11008 }, examplesPerSecond: 100 });

/** A client that collects every message. */
function connect(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ socket: WebSocket; messages: ServerMessage[] }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    const messages: ServerMessage[] = [];
    socket.on('message', (data) => messages.push(JSON.parse(data.toString())));
    socket.on('open', () => resolve({ socket, messages }));
    socket.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    socket.on('error', reject);
  });
}

const until = async (condition: () => boolean, timeout = 5000) => {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeout) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('the live server', () => {
  it('sends every client the same ordered events, and a late joiner the state first', async () => {
    const events = new Subject<LonasEvent>();
    const server = await LiveServer.start(events, { port: 0, run: { command: 'test' } });
    const a = await connect(server.url);
    const b = await connect(server.url);
    for (let i = 1; i <= 50; i++) events.next(step(i));
    await until(() => a.messages.length === 51 && b.messages.length === 51);
    expect(a.messages[0]).toMatchObject({ type: 'state', state: { run: { command: 'test' }, events: 0 } });
    expect(a.messages.slice(1)).toEqual(b.messages.slice(1));
    expect(a.messages.slice(1).map((m) => (m as { seq: number }).seq)).toEqual([...Array(50).keys()].map((i) => i + 1));
    events.next({
      type: 'search.generation',
      generation: 0,
      evaluated: 8,
      front: [{ subnet: { 0: 28 }, macs: 10, accuracy: 0.5 }],
      hypervolume: 2,
    });
    const late = await connect(server.url);
    await until(() => late.messages.length === 1);
    const state = (
      late.messages[0] as { state: { steps: unknown[]; front: unknown[]; hypervolumes: number[]; events: number } }
    ).state;
    expect(state.steps).toHaveLength(50);
    expect(state.front).toEqual([{ subnet: { 0: 28 }, macs: 10, accuracy: 0.5 }]);
    expect(state.hypervolumes).toEqual([2]);
    for (const client of [a, b, late]) client.socket.close();
    await server.close();
  });

  it('filters by topic and answers bad messages with an error, ignoring them', async () => {
    const events = new Subject<LonasEvent>();
    const server = await LiveServer.start(events, { port: 0 });
    const client = await connect(server.url);
    client.socket.send(JSON.stringify({ type: 'unsubscribe', topics: ['train'] }));
    client.socket.send('{not json');
    client.socket.send(JSON.stringify({ type: 'subscribe', topics: ['weather'] }));
    client.socket.send('x'.repeat(10_000));
    await until(() => client.messages.length === 4);
    expect(client.messages.slice(1).map((m) => (m as { message: string }).message)).toEqual([
      'message is not JSON',
      'unknown topics ["weather"] (known: train, eval, search)',
      'message of 10000 bytes exceeds 4096',
    ]);
    events.next(step(1));
    events.next({
      type: 'search.done',
      best: { subnet: {}, macs: 1, accuracy: 0.5 },
      meetsReference: true,
      evaluated: 1,
    });
    await until(() => client.messages.length === 5);
    expect(client.messages[4]).toMatchObject({ type: 'event', event: { type: 'search.done' } });
    client.socket.close();
    await server.close();
  });

  it('drops messages to a stalled client instead of slowing the run or growing memory, and says how many', async () => {
    const events = new Subject<LonasEvent>();
    const server = await LiveServer.start(events, { port: 0, maxBufferedBytes: 64 * 1024 });
    const stalled = await connect(server.url);
    const healthy = await connect(server.url);
    try {
      // Stop reading: the server's queue for this client fills up.
      (stalled.socket as unknown as { _socket: { pause(): void } })._socket.pause();
      const before = process.memoryUsage().heapUsed;
      const started = performance.now();
      // Like the trainer, the emitter yields to the event loop between steps.
      for (let i = 1; i <= 20_000; i++) {
        events.next(step(i));
        if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      const elapsed = performance.now() - started;
      const grown = process.memoryUsage().heapUsed - before;
      await until(() => healthy.messages.length === 20_001, 20_000);
      expect(elapsed).toBeLessThan(10_000);
      // 20,000 events of ~250 bytes would be ~5 MB queued for the stalled client; the cap keeps it to 64 KiB.
      expect(grown).toBeLessThan(40 * 1024 * 1024);
      (stalled.socket as unknown as { _socket: { resume(): void } })._socket.resume();
      // The notice rides on the first event sent once the backlog has drained: the run keeps stepping until then,
      // however long a loaded machine takes to drain it.
      let sent = 20_000;
      await until(() => {
        if (stalled.messages.some((m) => m.type === 'dropped')) return true;
        events.next(step(++sent));
        return false;
      }, 30_000);
      const dropped = stalled.messages.find((m) => m.type === 'dropped') as { count: number };
      expect(dropped.count).toBeGreaterThan(1000);
      expect(stalled.messages.length).toBeLessThan(1 + sent - dropped.count + 10);
    } finally {
      for (const client of [stalled, healthy]) client.socket.terminate();
      await server.close();
    }
  });

  it('refuses a non-loopback address without a token, and clients without the token', async () => {
    await expect(LiveServer.start(new Subject(), { host: '0.0.0.0', port: 0 })).rejects.toThrow(LiveSecurityError);
    await expect(LiveServer.start(new Subject(), { host: '0.0.0.0', port: 0 })).rejects.toThrow(
      '--live 0.0.0.0:0 would expose the run beyond this machine: give --live-token',
    );
    const server = await LiveServer.start(new Subject(), { port: 0, token: 's3cret' });
    await expect(connect(server.url)).rejects.toThrow('HTTP 401');
    const ok = await connect(server.url, { authorization: 'Bearer s3cret' });
    await until(() => ok.messages.length === 1);
    ok.socket.close();
    await server.close();
  });
});
