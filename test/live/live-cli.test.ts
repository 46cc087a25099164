import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import WebSocket from 'ws';
import type { ServerMessage } from '../../src/live/protocol';
import { makeTinyCheckpoints } from '../support/tiny-checkpoints';
import { SENTENCES } from '../support/training';

const lonas = path.join(__dirname, '..', '..', 'bin', 'lonas.js');
const config = path.join(__dirname, '..', '..', 'configs', 'tiny', 'llama.json');

/** Starts a lonas command and resolves with the live address it prints. */
function startWithLive(args: string[]): Promise<{ child: ChildProcess; url: string; exited: Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [lonas, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
      const match = /at (ws:\/\/[^\s;]+)/.exec(stderr);
      if (match !== null) resolve({ child, url: match[1], exited });
    });
    child.on('close', (code) => reject(new Error(`exited ${code} before serving: ${stderr}`)));
  });
}

function collect(url: string): {
  messages: ServerMessage[];
  closed: Promise<void>;
  received: (n: number) => Promise<void>;
} {
  const socket = new WebSocket(url);
  const messages: ServerMessage[] = [];
  const waiting: Array<{ n: number; resolve: () => void }> = [];
  socket.on('message', (data) => {
    messages.push(JSON.parse(data.toString()));
    for (const w of waiting.filter((w) => messages.length >= w.n)) w.resolve();
  });
  /** Resolves once `n` messages have arrived (waiting on the run, not on the clock). */
  const received = (n: number) =>
    new Promise<void>((resolve) => (messages.length >= n ? resolve() : waiting.push({ n, resolve })));
  const closed = new Promise<void>((resolve) => {
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
  });
  return { messages, closed, received };
}

describe('--live, replay and watch', () => {
  const tiny = makeTinyCheckpoints();
  afterAll(() => tiny.remove());
  const corpus = path.join(tiny.folder, 'corpus.json');
  fs.writeFileSync(corpus, JSON.stringify(Array.from({ length: 160 }, (_, i) => SENTENCES[i % SENTENCES.length])));
  const output = path.join(tiny.folder, 'run');
  /** `lonas train` on the corpus, one epoch of 80 micro-batches, streamed live on a free port. */
  const trainArgs = (out: string, ...extra: string[]) => [
    'train',
    '--model_name_or_path',
    tiny.path('llama'),
    '--nncf_config',
    config,
    '--train_file',
    corpus,
    '--output_dir',
    out,
    '--per_device_train_batch_size',
    '2',
    '--num_train_epochs',
    '1',
    ...extra,
    '--live',
    '127.0.0.1:0',
  ];

  it('streams a training run to two clients in the same order, gives a late joiner the state, and records events.jsonl', async () => {
    const { url, exited } = await startWithLive(trainArgs(output));
    const first = collect(url);
    const second = collect(url);
    // Join late, once some steps have gone by.
    await first.received(6);
    const late = collect(url);
    expect(await exited).toBe(0);
    await Promise.all([first.closed, second.closed, late.closed]);
    const events = (c: { messages: ServerMessage[] }) =>
      c.messages.filter((m): m is Extract<ServerMessage, { type: 'event' }> => m.type === 'event');
    // Both early clients see the same events from the later of their starts.
    const from = Math.max(events(first)[0].seq, events(second)[0].seq);
    const tail = (c: { messages: ServerMessage[] }) => events(c).filter((m) => m.seq >= from);
    expect(tail(first)).toEqual(tail(second));
    expect(tail(first).map((m) => m.seq)).toEqual(tail(first).map((_, i) => from + i));
    expect(events(first).at(-1)?.event.type).toBe('train.done');
    // The late joiner starts with the state of the run so far.
    const state = late.messages[0] as Extract<ServerMessage, { type: 'state' }>;
    expect(state.type).toBe('state');
    expect(state.state.run).toMatchObject({ command: 'train' });
    expect(state.state.steps.length).toBeGreaterThan(0);
    expect(events(late)[0].seq).toBe(state.state.events + 1);
    // Everything was recorded.
    const recorded = fs.readFileSync(path.join(output, 'events.jsonl'), 'utf8').trim().split('\n');
    expect(recorded.length).toBe(events(first).at(-1)?.seq);
  });

  it('is not slowed, nor grown in memory, by a client that stops reading', async () => {
    const args = (out: string) => trainArgs(out, '--save_strategy', 'no');
    /** Runs training, sampling the process's resident memory; `stall` connects a client that never reads. */
    const measure = async (out: string, stall: boolean) => {
      const started = performance.now();
      const { child, url, exited } = await startWithLive(args(out));
      let peak = 0;
      const sampler = setInterval(() => {
        try {
          const rss = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          if (rss !== null) peak = Math.max(peak, Number(rss[1]) * 1024);
        } catch {
          // the process has ended
        }
      }, 50);
      let socket: WebSocket | undefined;
      if (stall) {
        socket = new WebSocket(url);
        socket.on('open', () => (socket as unknown as { _socket: { pause(): void } })._socket.pause());
        socket.on('error', () => undefined);
      }
      expect(await exited).toBe(0);
      clearInterval(sampler);
      socket?.terminate();
      return { seconds: (performance.now() - started) / 1000, peak };
    };
    const alone = await measure(path.join(tiny.folder, 'alone'), false);
    const stalled = await measure(path.join(tiny.folder, 'stalled'), true);
    expect(stalled.seconds).toBeLessThan(alone.seconds * 1.5 + 2);
    expect(stalled.peak).toBeLessThan(alone.peak + 64 * 1024 * 1024);
  });

  it('replays a recorded run for lonas watch', async () => {
    const { child, url, exited } = await startWithLive(['replay', output, '--live', '127.0.0.1:0']);
    const watched = await new Promise<string>((resolve) => {
      const watcher = spawn(process.execPath, [lonas, 'watch', url], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      watcher.stdout?.on('data', (chunk) => {
        out += chunk;
        if (out.includes('events so far')) {
          child.kill('SIGTERM');
        }
      });
      watcher.on('close', () => resolve(out));
    });
    expect(await exited).toBe(0);
    expect(watched).toMatch(/run: \{"replay":".*run"\}/);
    expect(watched).toMatch(/\d+ events so far/);
    expect(watched).toMatch(/last step: epoch 1 step 80 \(80\)/);
  });

  it('refuses a non-loopback --live without a token at start-up', async () => {
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [lonas, 'replay', output, '--live', '0.0.0.0:0'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr?.on('data', (chunk) => (stderr += chunk));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('--live 0.0.0.0:0 would expose the run beyond this machine: give --live-token');
  });
});
