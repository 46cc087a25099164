import * as fs from 'fs';
import * as path from 'path';
import { makeTinyCheckpoints } from './support/tiny-checkpoints';
import { lonasCli as cli } from './support/cli';

const config = path.join(__dirname, '..', 'configs', 'tiny', 'llama.json');

/** Test sets and validation records that would give plausible numbers are refused before any model loads. */
describe('bad test sets and validation records', () => {
  const tiny = makeTinyCheckpoints();
  afterAll(() => tiny.remove());
  const record = (i: number, answer?: string) => ({
    instruction: `is ${i} even? Answer format: true/false`,
    input: '',
    output: `the correct answer is ${answer ?? 'true'}`,
    ...(answer === undefined ? {} : { answer }),
  });
  const datasets = path.join(tiny.folder, 'datasets');
  const write = (file: string, value: unknown) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(value));
    return file;
  };
  write(path.join(datasets, 'boolq', 'test.json'), [record(0, 'true'), record(1, 'false')]);
  write(path.join(datasets, 'unanswered', 'test.json'), [record(0, 'true'), record(1)]);
  write(path.join(datasets, 'empty', 'test.json'), []);
  const train = write(path.join(tiny.folder, 'train.json'), [
    ...Array.from({ length: 6 }, (_, i) => record(i, 'true')),
    record(6),
  ]);
  const test = (...extra: string[]) =>
    cli([
      'commonsense',
      ...['--model_name_or_path', tiny.path('llama'), '--nncf_config', config, '--datasets_dir', datasets],
      ...['--output_dir', path.join(tiny.folder, 'out'), '--do_test', ...extra],
    ]);
  const refused = (result: { code: number; stderr: string }, message: string) => {
    expect(result.stderr).toContain(message);
    expect(result.code).toBe(1);
    expect(result.stderr).not.toContain('lonas: backend');
  };

  it('records without an answer', async () => {
    refused(
      await test('--test_datasets', 'unanswered'),
      `${path.join(datasets, 'unanswered', 'test.json')}: record 1 has no "answer"`,
    );
  });

  it('an empty test set, and --max_test_samples 0', async () => {
    refused(await test('--test_datasets', 'empty'), 'test set empty has no records');
    refused(await test('--test_datasets', 'boolq', '--max_test_samples', '0'), '--max_test_samples must be at least 1');
  });

  it('a test set that is named and absent', async () => {
    refused(
      await test('--test_datasets', 'boolq,nosuch'),
      `--test_datasets: no 'nosuch' (expected ${path.join(datasets, 'nosuch', 'test.json')})`,
    );
  });

  it('validation records without an answer', async () => {
    const searched = await cli([
      'commonsense',
      ...['--model_name_or_path', tiny.path('llama'), '--nncf_config', config, '--dataset_path', train],
      ...['--val_set_size', '6', '--output_dir', path.join(tiny.folder, 'searched'), '--do_search'],
    ]);
    refused(searched, 'has no "answer" (the validation set needs one per record)');
  });
});

describe('bad training settings', () => {
  const tiny = makeTinyCheckpoints();
  afterAll(() => tiny.remove());

  it('an epoch count past any real run is refused before anything loads', async () => {
    const train = path.join(tiny.folder, 'train.json');
    fs.writeFileSync(train, JSON.stringify([{ instruction: 'is 0 even?', input: '', output: 'true', answer: 'true' }]));
    const result = await cli([
      'commonsense',
      ...['--model_name_or_path', tiny.path('llama'), '--nncf_config', config, '--dataset_path', train],
      ...['--val_set_size', '0', '--output_dir', path.join(tiny.folder, 'out'), '--do_train'],
      ...['--num_train_epochs', '1e9'],
    ]);
    expect(result.stderr).toContain('training.epochs (--num_train_epochs) must be at most 100000, got 1000000000');
    expect(result.stderr).not.toContain('lonas: backend');
    expect(result.code).toBe(1);
  });
});
