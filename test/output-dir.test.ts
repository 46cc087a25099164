import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { makeTinyCheckpoints } from './support/tiny-checkpoints';
import { SENTENCES } from './support/training';
import { lonasCli as cli } from './support/cli';

const config = path.join(__dirname, '..', 'configs', 'tiny', 'llama.json');

/** An output folder belongs to one run: used folders are refused, replaced or resumed, never mixed. */
describe('output folders', () => {
  const tiny = makeTinyCheckpoints();
  afterAll(() => tiny.remove());
  const corpus = path.join(tiny.folder, 'corpus.json');
  fs.writeFileSync(corpus, JSON.stringify([...SENTENCES, ...SENTENCES]));
  const train = (out: string, ...extra: string[]) =>
    cli([
      'train',
      ...['--model_name_or_path', tiny.path('llama'), '--nncf_config', config, '--train_file', corpus],
      ...['--output_dir', out, '--per_device_train_batch_size', '2', '--num_train_epochs', '2', ...extra],
    ]);
  const checkpoints = (out: string) => fs.readdirSync(out).filter((name) => name.startsWith('checkpoint-'));

  it('refuses to train into a used folder without --resume or --overwrite_output_dir', async () => {
    const out = path.join(tiny.folder, 'used');
    expect((await train(out)).code).toBe(0);
    const before = checkpoints(out);
    const again = await train(out, '--per_device_train_batch_size', '4');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`${out} holds another training run`);
    expect(again.stderr).toContain('give --resume to continue it or --overwrite_output_dir to replace it');
    expect(checkpoints(out)).toEqual(before);
    // Replaced: the old run's checkpoints go, so they can neither be resumed nor outrank the new ones.
    const replaced = await train(out, '--per_device_train_batch_size', '4', '--overwrite_output_dir');
    expect(replaced.code).toBe(0);
    expect(checkpoints(out).sort()).toEqual(['checkpoint-2', 'checkpoint-4']);
  });

  it('takes a lock: a second run into the folder is refused naming the holder; a dead holder is taken over', async () => {
    const out = path.join(tiny.folder, 'locked');
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, 'lonas.lock'), `${process.pid}\n`);
    const refused = await train(out);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `${out} is in use by another lonas run (${path.join(out, 'lonas.lock')}: pid ${process.pid}, start time not recorded)`,
    );
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    fs.writeFileSync(path.join(out, 'lonas.lock'), `${dead}\n`);
    expect((await train(out)).code).toBe(0);
    // Released at the end.
    expect(fs.existsSync(path.join(out, 'lonas.lock'))).toBe(false);
  });

  it('names an output folder that cannot be written, and a --live port in use, in one line', async () => {
    const file = path.join(tiny.folder, 'a-file');
    fs.writeFileSync(file, 'not a folder');
    const notFolder = await train(file);
    expect(notFolder.code).toBe(1);
    expect(notFolder.stderr).toContain(`${file}: cannot write the output folder`);
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const taken = await train(path.join(tiny.folder, 'live'), '--live', `127.0.0.1:${port}`);
      expect(taken.code).toBe(2);
      expect(taken.stderr).toContain(`--live 127.0.0.1:${port}: the port is already in use`);
      expect(taken.stderr).not.toContain('    at ');
    } finally {
      busy.close();
    }
  });
});
