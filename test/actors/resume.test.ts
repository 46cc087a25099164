import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { SafetensorsFile } from '../../src/io/safetensors';
import { makeTinyCheckpoints } from '../support/tiny-checkpoints';
import { SENTENCES } from '../support/training';

const lonas = path.join(__dirname, '..', '..', 'bin', 'lonas.js');
const config = path.join(__dirname, '..', '..', 'configs', 'tiny', 'llama.json');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  events: Array<{ type: string; epoch?: number; step?: number }>;
}

/** Runs `lonas train`; `interrupt` may send a signal when it sees a given event. */
function trainCli(
  args: string[],
  interrupt?: { atEpoch: number; atStep: number; signal: NodeJS.Signals },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [lonas, 'train', ...args, '--events'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const events: Run['events'] = [];
    let buffer = '';
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const event = JSON.parse(line);
        events.push(event);
        if (
          interrupt &&
          event.type === 'train.step' &&
          event.epoch === interrupt.atEpoch &&
          event.step === interrupt.atStep
        ) {
          child.kill(interrupt.signal);
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0 && code !== 130 && code !== 143 && signal === null)
        reject(new Error(`lonas train failed (${code}): ${stderr}`));
      else resolve({ code, signal, events });
    });
  });
}

function adapterTensors(folder: string): Map<string, Float32Array> {
  const file = SafetensorsFile.open(path.join(folder, 'adapter_model.safetensors'));
  return new Map([...file.entries.keys()].map((name) => [name, file.read(name).data as Float32Array]));
}

function maxDifference(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  let worst = 0;
  for (const [name, values] of a) {
    const other = b.get(name) as Float32Array;
    for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(values[i] - other[i]));
  }
  return worst;
}

describe('interrupted training resumes exactly', () => {
  const tiny = makeTinyCheckpoints();
  afterAll(() => tiny.remove());
  const corpus = path.join(tiny.folder, 'corpus.json');
  fs.writeFileSync(corpus, JSON.stringify(Array.from({ length: 24 }, (_, i) => SENTENCES[i % SENTENCES.length])));
  const common = (output: string) => [
    '--model_name_or_path',
    tiny.path('llama'),
    '--nncf_config',
    config,
    '--train_file',
    corpus,
    '--output_dir',
    output,
    '--per_device_train_batch_size',
    '4',
    '--gradient_accumulation_steps',
    '2',
    '--seed',
    '7',
  ];
  let reference: Map<string, Float32Array>;
  let referenceLosses: number[];

  beforeAll(async () => {
    const run = await trainCli(common(path.join(tiny.folder, 'uninterrupted')));
    reference = adapterTensors(path.join(tiny.folder, 'uninterrupted'));
    referenceLosses = run.events
      .filter((e) => e.type === 'train.step')
      .map((e) => (e as unknown as { loss: number }).loss);
  });

  it('after SIGKILL mid-epoch, from the last epoch checkpoint', async () => {
    const output = path.join(tiny.folder, 'killed');
    const killed = await trainCli(common(output), { atEpoch: 1, atStep: 3, signal: 'SIGKILL' });
    expect(killed.signal).toBe('SIGKILL');
    expect(fs.existsSync(path.join(output, 'adapter_model.safetensors'))).toBe(false);
    const resumed = await trainCli([...common(output), '--resume']);
    expect(resumed.code).toBe(0);
    const losses = resumed.events
      .filter((e) => e.type === 'train.step')
      .map((e) => (e as unknown as { loss: number }).loss);
    // The resumed run starts at epoch 1 (checkpoint-6) and repeats the uninterrupted losses from there.
    expect(losses).toEqual(referenceLosses.slice(6));
    expect(maxDifference(reference, adapterTensors(output))).toBeLessThan(1e-6);
  });

  it('after SIGTERM mid-epoch, from the checkpoint the signal wrote', async () => {
    const output = path.join(tiny.folder, 'terminated');
    const stopped = await trainCli(common(output), { atEpoch: 1, atStep: 3, signal: 'SIGTERM' });
    expect(stopped.code).toBe(143);
    expect(stopped.events.at(-2)).toMatchObject({ type: 'train.checkpoint', reason: 'signal' });
    const resumed = await trainCli([...common(output), '--resume']);
    // events.jsonl shows where the resumed attempt starts.
    expect(resumed.events.find((e) => e.type === 'train.start')).toMatchObject({
      resumedFrom: expect.stringMatching(/checkpoint-\d+$/),
    });
    const losses = resumed.events
      .filter((e) => e.type === 'train.step')
      .map((e) => (e as unknown as { loss: number }).loss);
    const stoppedAt = stopped.events.filter((e) => e.type === 'train.step').length;
    expect(losses).toEqual(referenceLosses.slice(stoppedAt));
    expect(maxDifference(reference, adapterTensors(output))).toBeLessThan(1e-6);
  });

  it('refuses a resume with other settings, naming them; and says when there is nothing to resume', async () => {
    const refused = async (args: string[]) => {
      const child = spawn(process.execPath, [lonas, 'train', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk) => (stderr += chunk));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      return { code, stderr };
    };
    const output = path.join(tiny.folder, 'uninterrupted');
    const other = await refused([...common(output), '--resume', '--per_device_train_batch_size', '2', '--seed', '8']);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/--resume: .*checkpoint-\d+ was written with other settings: /);
    expect(other.stderr).toContain('seed 7 (now 8)');
    expect(other.stderr).toContain('per_device_train_batch_size 4 (now 2)');
    const nothing = await refused([...common(path.join(tiny.folder, 'never-trained')), '--resume']);
    expect(nothing.stderr).toContain(`--resume: no checkpoint in ${path.join(tiny.folder, 'never-trained')}`);
    const damaged = path.join(tiny.folder, 'damaged');
    fs.cpSync(output, damaged, { recursive: true });
    const newest = fs
      .readdirSync(damaged)
      .filter((name) => name.startsWith('checkpoint-'))
      .sort((a, b) => Number(a.slice(11)) - Number(b.slice(11)))
      .at(-1) as string;
    fs.writeFileSync(path.join(damaged, newest, 'trainer_state.json'), '');
    expect((await refused([...common(damaged), '--resume'])).stderr).toContain(
      `${path.join(damaged, newest, 'trainer_state.json')}: empty or missing; the checkpoint cannot be resumed`,
    );
  });
});
