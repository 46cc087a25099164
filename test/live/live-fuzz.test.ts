import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import WebSocket, { WebSocketServer } from 'ws';
import { makeTinyCheckpoints } from '../support/tiny-checkpoints';
import { SENTENCES } from '../support/training';

// Every wait here is on the processes (their output, their exit), never a wall-clock budget; the
// per-test timeouts are generous (two tiny training runs take seconds alone, minutes on a loaded machine).
jest.setTimeout(240_000);

const lonas = path.join(__dirname, '..', '..', 'bin', 'lonas.js');
const config = path.join(__dirname, '..', '..', 'configs', 'tiny', 'llama.json');

/** Starts a lonas command; `url` resolves with the live address it prints (if it serves one). */
function start(args: string[]) {
  const child: ChildProcess = spawn(process.execPath, [lonas, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stdout?.on('data', (chunk) => (stdout += chunk));
  const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
  const url = new Promise<string>((resolve, reject) => {
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
      const match = /at (ws:\/\/[^\s;]+)/.exec(stderr);
      if (match !== null) resolve(match[1]);
    });
    child.on('close', (code) => reject(new Error(`exited ${code} before serving: ${stderr}`)));
  });
  // A command that serves nothing (watch) never resolves it: not an error.
  url.catch(() => undefined);
  return { child, url, exited, output: () => ({ stdout, stderr }) };
}

/** A seeded generator (mulberry32): the same frames every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random or malformed frame: JSON non-objects, wrong types, huge numbers, junk bytes, big text. */
function frame(next: () => number): { data: string | Buffer; binary: boolean } {
  const pick = <T>(items: T[]) => items[Math.floor(next() * items.length)];
  const junk = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256)));
  switch (Math.floor(next() * 6)) {
    case 0:
      return {
        data: pick(['null', '[]', '123', '"x"', 'true', '{"type":123}', '{"type":"subscribe","topics":null}', '1e999']),
        binary: false,
      };
    case 1:
      return {
        data: `{"type":"${pick(['subscribe', 'unsubscribe', 'x'])}","topics":[${'9'.repeat(1 + Math.floor(next() * 500))}]}`,
        binary: false,
      };
    case 2:
      return { data: junk(1 + Math.floor(next() * 200)), binary: true };
    case 3:
      return { data: junk(1 + Math.floor(next() * 200)).toString('latin1'), binary: false };
    case 4:
      return { data: 'x'.repeat(Math.floor(next() * 20_000)), binary: false };
    default:
      return {
        data: JSON.stringify({ type: 'subscribe', topics: [pick(['train', 'eval', 'search', 'weather'])] }),
        binary: false,
      };
  }
}

describe('the live server under fuzzing', () => {
  const tiny = makeTinyCheckpoints();
  afterAll(() => tiny.remove());
  const corpus = path.join(tiny.folder, 'corpus.json');
  fs.writeFileSync(corpus, JSON.stringify(Array.from({ length: 160 }, (_, i) => SENTENCES[i % SENTENCES.length])));
  const train = (out: string) => [
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
    '--save_strategy',
    'no',
    '--live',
    '127.0.0.1:0',
  ];

  it('finishes a training run thrown random and malformed frames, with the adapter of an undisturbed run', async () => {
    const calm = start(train(path.join(tiny.folder, 'calm')));
    await calm.url;
    expect(await calm.exited).toBe(0);

    const fuzzed = start(train(path.join(tiny.folder, 'fuzzed')));
    const url = await fuzzed.url;
    const next = random(15);
    let sent = 0;
    // Connections in turn (loopback only), each sending frames until the server closes it or it
    // has sent its share; 2,000 frames in all, bounded.
    const attack = async () => {
      while (sent < 2000) {
        const socket = new WebSocket(url, { maxPayload: 64 * 1024 * 1024 });
        const over = new Promise<void>((resolve) => {
          socket.on('close', () => resolve());
          socket.on('error', () => resolve());
        });
        await new Promise<void>((resolve) => {
          socket.on('open', () => resolve());
          socket.on('error', () => resolve());
        });
        if (socket.readyState !== WebSocket.OPEN) break; // the run is over
        for (let i = 0; i < 100 && socket.readyState === WebSocket.OPEN; i++, sent++) {
          const { data, binary } = frame(next);
          socket.send(data, { binary });
        }
        socket.close();
        await over;
      }
    };
    await Promise.all([attack(), fuzzed.exited]);
    expect(await fuzzed.exited).toBe(0);
    expect(sent).toBeGreaterThan(0);
    const adapter = (run: string) => fs.readFileSync(path.join(tiny.folder, run, 'adapter_model.safetensors'));
    expect(adapter('fuzzed').equals(adapter('calm'))).toBe(true);
  });

  it('replays a run whose log has a torn last line, null and type-123 lines, with one warning', async () => {
    const folder = path.join(tiny.folder, 'damaged');
    fs.mkdirSync(folder, { recursive: true });
    const lines = fs
      .readFileSync(path.join(tiny.folder, 'calm', 'events.jsonl'), 'utf8')
      .trim()
      .split('\n');
    const good = lines.length;
    fs.writeFileSync(
      path.join(folder, 'events.jsonl'),
      [...lines, 'null', '{"type": 123}', lines[1].slice(0, 20)].join('\n'),
    );
    const replay = start(['replay', folder, '--live', '127.0.0.1:0']);
    const url = await replay.url;
    const state = await new Promise<{ events: number }>((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.once('message', (data) => {
        socket.close();
        resolve(JSON.parse(data.toString()).state);
      });
      socket.on('error', reject);
    });
    replay.child.kill('SIGTERM');
    expect(await replay.exited).toBe(0);
    expect(state.events).toBe(good);
    const warnings = replay
      .output()
      .stderr.split('\n')
      .filter((line) => line.includes('skipped'));
    expect(warnings).toEqual([expect.stringContaining('skipped 3 lines')]);
  });

  it('watch survives non-JSON, null, state: null and a 30 MB message, cutting long lines', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => server.once('listening', resolve));
    server.on('connection', (socket) => {
      for (const data of [
        'not json',
        'null',
        '{"type":"state","state":null}',
        '{"type":"event","seq":1,"event":null}',
        '{"type":"event","seq":2,"event":{"type":"train.step"}}',
        JSON.stringify({ type: 'error', message: 'e'.repeat(30 * 1024 * 1024) }),
        JSON.stringify({
          type: 'state',
          state: { run: { note: 'n'.repeat(100_000) }, events: 0, steps: [], front: [] },
        }),
      ])
        socket.send(data);
      socket.close();
    });
    const port = (server.address() as { port: number }).port;
    const watch = start(['watch', `ws://127.0.0.1:${port}`]);
    const code = await watch.exited;
    server.close();
    const { stdout, stderr } = watch.output();
    expect(code).toBe(0);
    expect(stdout).toContain('0 events so far');
    expect(stderr).toContain('skipped a malformed message');
    expect(stderr).toContain('the server says: eeee');
    expect(Math.max(...`${stdout}\n${stderr}`.split('\n').map((line) => line.length))).toBeLessThan(1200);
  });
});
