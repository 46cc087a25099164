import * as fs from 'fs';
import * as path from 'path';
import { SafetensorsFile, writeSafetensors } from '../../src/io/safetensors';
import { makeTinyCheckpoints } from '../support/tiny-checkpoints';
import { SENTENCES } from '../support/training';
import { lonasCli as cli } from '../support/cli';

const config = path.join(__dirname, '..', '..', 'configs', 'tiny', 'llama.json');

describe('a run gone non-finite', () => {
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

  it.each([['--lora_alpha=1e308'], ['--weight_decay=1e308']])(
    'stops at the first non-finite loss or gradient (%s), exit 1, and writes no adapter',
    async (flag) => {
      const out = path.join(tiny.folder, flag.replace(/\W/g, ''));
      const { code, stderr } = await train(out, flag);
      expect(code).toBe(1);
      expect(stderr).toMatch(/training diverged at epoch \d+, micro-step \d+: the (loss|gradient norm|update)/);
      expect(fs.existsSync(path.join(out, 'adapter_model.safetensors'))).toBe(false);
    },
  );

  it('refuses to load or export an adapter holding NaN, naming the tensor', async () => {
    const good = path.join(tiny.folder, 'good');
    expect((await train(good)).code).toBe(0);
    const broken = path.join(tiny.folder, 'broken');
    fs.mkdirSync(broken);
    fs.copyFileSync(path.join(good, 'adapter_config.json'), path.join(broken, 'adapter_config.json'));
    const file = SafetensorsFile.open(path.join(good, 'adapter_model.safetensors'));
    const tensors = Object.fromEntries(
      [...file.entries.keys()].map((name) => {
        const { data, shape } = file.read(name);
        return [name, { shape, data: Float32Array.from(data as Float32Array) }];
      }),
    );
    const [first] = Object.keys(tensors);
    tensors[first].data[0] = NaN;
    writeSafetensors(path.join(broken, 'adapter_model.safetensors'), tensors);
    const exported = await cli([
      'export',
      ...['--model_name_or_path', tiny.path('llama'), '--nncf_config', config, '--lora_weights', broken],
      ...['--subnet', 'max', '--output_dir', path.join(tiny.folder, 'exported')],
    ]);
    expect(exported.code).toBe(1);
    expect(exported.stderr).toContain('holds NaN or infinite values');
    expect(fs.existsSync(path.join(tiny.folder, 'exported'))).toBe(false);
  });
});
