import * as fs from 'fs';
import { taskOf } from '../src/tasks/task-of';
import * as os from 'os';
import * as path from 'path';
import { parseFlags, UsageError } from '../tools/cli/command';
import type { Family } from '../tools/cli/task-flags';
import { taskSettings } from '../tools/cli/task-settings';
import { describeWithSharedData, sharedData } from './support/shared-data';
import { lonasCli as cli } from './support/cli';

const configs = path.join(__dirname, '..', 'configs');

/** One command of LoNAS's running_commands: its script's task family and its flags. */
interface OfficialCommand {
  family: Family;
  args: string[];
  /** Each `--flag value` (value true for a bare flag). */
  flags: Map<string, string | true>;
}

/** Splits LoNAS's running_commands file into its commands (backslash-continued lines). */
function officialCommands(text: string): OfficialCommand[] {
  const joined = text.replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .filter((line) => /python run_\w+\.py/.test(line))
    .map((line) => {
      const words = line.trim().split(/\s+/);
      const script = words.findIndex((w) => /^run_\w+\.py$/.test(w));
      const family = /^run_(\w+)\.py$/.exec(words[script])?.[1] as Family;
      const args = words.slice(script + 1);
      const flags = new Map<string, string | true>();
      args.forEach((word, i) => {
        if (!word.startsWith('--')) return;
        const next = args[i + 1];
        flags.set(word.slice(2), next === undefined || next.startsWith('--') ? true : next);
      });
      return { family, args, flags };
    });
}

/** Replaces the value of each path flag given in `paths`; nothing else changes. */
function withPaths(args: string[], paths: Record<string, string>): string[] {
  const out = args.map((word, i) => {
    const flag = args[i - 1]?.startsWith('--') ? args[i - 1].slice(2) : undefined;
    return flag !== undefined && flag in paths && !word.startsWith('--') ? paths[flag] : word;
  });
  // run_glue.py loads GLUE from the hub; lonas reads the task's folder.
  for (const [flag, value] of Object.entries(paths)) if (!args.includes(`--${flag}`)) out.push(`--${flag}`, value);
  return out;
}

describe('flags as HfArgumentParser reads them', () => {
  const options = {
    lora: { type: 'boolean' },
    do_train: { type: 'boolean' },
    fp16: { type: 'boolean' },
    lora_r: { type: 'string' },
    num_train_epochs: { type: 'string' },
  } as const;

  it('takes bare boolean flags in any position, before a value flag too', () => {
    expect(parseFlags(['--lora', '--lora_r', '32', '--fp16'], options)).toEqual({
      lora: true,
      lora_r: '32',
      fp16: true,
    });
    expect(parseFlags(['--lora_r', '8', '--do_train', '--lora'], options)).toEqual({
      lora_r: '8',
      do_train: true,
      lora: true,
    });
  });

  it('reads --flag True/False, --flag=false and --no_flag', () => {
    expect(parseFlags(['--do_train', 'False', '--lora', 'True', '--fp16=false'], options)).toEqual({
      do_train: false,
      lora: true,
      fp16: false,
    });
    expect(parseFlags(['--no_do_train', '--lora', 'yes'], options)).toEqual({ do_train: false, lora: true });
    expect(() => parseFlags(['--lora=maybe'], options)).toThrow("--lora takes true or false, got 'maybe'");
  });

  it('takes a negative value as the value of the flag before it', () => {
    expect(parseFlags(['--num_train_epochs', '-1', '--lora'], options)).toEqual({ num_train_epochs: '-1', lora: true });
    expect(() => taskSettings('glue', ['--num_train_epochs', '-1'])).toThrow(UsageError);
  });

  it('says what is wrong with a negative or fractional number, naming the flag', () => {
    const base = ['--model_name_or_path', 'm', '--nncf_config', 'c', '--output_dir', 'o', '--do_test'];
    expect(() => taskSettings('commonsense', [...base, '--num_train_epochs', '-1'])).toThrow(
      "--num_train_epochs must be an integer >= 1, got '-1'",
    );
    expect(() => taskSettings('commonsense', [...base, '--weight_decay', '-0.1'])).toThrow(
      "--weight_decay must be a number >= 0, got '-0.1'",
    );
    expect(() => taskSettings('commonsense', [...base, '--optim', 'sgd'])).toThrow(
      "--optim must be adamw_hf or adamw_torch, got 'sgd'",
    );
  });

  it('defaults as the official scripts do when a flag is absent', () => {
    const base = ['--model_name_or_path', 'm', '--nncf_config', 'c', '--output_dir', 'o', '--do_test'];
    const commonsense = taskSettings('commonsense', base).experiment;
    expect(commonsense).toMatchObject({
      evalBatchSize: 8,
      training: {
        batchSize: 8,
        gradientAccumulationSteps: 1,
        epochs: 3,
        seed: 42,
        weightDecay: 0,
        optim: 'adamw_hf',
      },
      task: {
        valSetSize: 120,
        cutoffLen: 256,
        trainOnInputs: true,
        datasetsDir: 'datasets',
        maxNewTokens: 32,
        numBeams: 4,
      },
      lora: {},
    });
    // The task's own LoRA settings, where neither the flags nor the config's lonas section say.
    expect(taskOf(commonsense.task).lora).toMatchObject({
      targetModules: ['q_proj', 'v_proj'],
      rank: 32,
      alpha: 64,
      dropout: 0,
    });
    expect(taskSettings('math', base).experiment.task).toMatchObject({ valSetSize: 0, maxNewTokens: 256 });
    const glue = taskSettings('glue', [...base, '--task_name', 'RTE', '--dataset_path', 'd']).experiment;
    expect(glue).toMatchObject({
      task: { taskName: 'rte', maxSeqLength: 128 },
      training: { evaluationStrategy: 'no' },
      phases: { eval: false },
    });
    expect(taskOf(glue.task).lora).toMatchObject({
      targetModules: ['query', 'key', 'value'],
      rank: 8,
      alpha: 16,
      dropout: 0.1,
    });
  });
});

describeWithSharedData('LoNAS running_commands, as written', ['official/running_commands'], () => {
  let commands: OfficialCommand[];
  beforeAll(() => {
    commands = officialCommands(fs.readFileSync(sharedData('official/running_commands'), 'utf8'));
  });

  it('holds the ten official commands', () => {
    expect(commands.map((c) => c.family)).toEqual(['commonsense', 'math', ...Array<Family>(8).fill('glue')]);
  });

  it.each(Array.from({ length: 10 }, (_, i) => i))('command %i parses and maps to its settings', (index) => {
    const { family, args, flags } = commands[index];
    const paths = {
      model_name_or_path: 'generated/model',
      nncf_config: 'generated/config.json',
      output_dir: 'generated/out',
      dataset_path: family === 'glue' ? 'generated/glue' : 'generated/train.json',
    };
    const { experiment, ignored: ignoredFlags } = taskSettings(family, withPaths(args, paths));
    const number = (flag: string) => Number(flags.get(flag));
    expect(experiment).toMatchObject({
      model: paths.model_name_or_path,
      nncfConfig: paths.nncf_config,
      outputDir: paths.output_dir,
      task: { datasetPath: paths.dataset_path },
      training: {
        batchSize: number('per_device_train_batch_size'),
        gradientAccumulationSteps: flags.has('gradient_accumulation_steps') ? number('gradient_accumulation_steps') : 1,
        epochs: number('num_train_epochs'),
        saveStrategy: flags.get('save_strategy'),
        saveTotalLimit: number('save_total_limit'),
      },
      lora: {
        rank: number('lora_r'),
        alpha: number('lora_alpha'),
        dropout: number('lora_dropout'),
        targetModules: String(flags.get('target_modules')).split(','),
      },
      phases: { train: flags.has('do_train'), test: flags.has('do_test'), search: flags.has('do_search') },
    });
    if (family === 'glue') {
      expect(experiment).toMatchObject({
        task: { taskName: flags.get('task_name'), maxSeqLength: number('max_seq_length') },
        training: {
          seed: number('seed'),
          weightDecay: number('weight_decay'),
          evaluationStrategy: 'epoch',
          optim: 'adamw_hf',
        },
        evalBatchSize: number('per_device_eval_batch_size'),
        phases: { eval: true },
      });
      expect(ignoredFlags.map((i) => i.flag).sort()).toEqual(['logging_steps', 'lora', 'warmup_ratio']);
    } else {
      expect(experiment).toMatchObject({
        task: { valSetSize: number('val_set_size') },
        training: { seed: 42, optim: 'adamw_torch' },
      });
      const ignored = ignoredFlags.map((i) => i.flag).sort();
      expect(ignored).toEqual(
        family === 'math'
          ? ['evaluation_strategy', 'fp16', 'logging_steps', 'lora', 'warmup_steps']
          : ['fp16', 'logging_steps', 'lora', 'warmup_steps'],
      );
    }
  });
});

describeWithSharedData(
  'the first official command on stories260K',
  [
    'official/running_commands',
    'models/stories260K/stories260K.bin',
    'models/stories260K/tok512.bin',
    'llm-adapters/dataset/boolq/train.json',
    'llm-adapters/dataset/boolq/test.json',
  ],
  () => {
    let dir: string;
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lonas-official-'));
      const boolq = JSON.parse(fs.readFileSync(sharedData('llm-adapters/dataset/boolq/train.json'), 'utf8'));
      fs.writeFileSync(path.join(dir, 'commonsense_15k.json'), JSON.stringify(boolq.slice(0, 12)));
      // The official scripts read their test sets from datasets/<name>/test.json under the working folder.
      const test = JSON.parse(fs.readFileSync(sharedData('llm-adapters/dataset/boolq/test.json'), 'utf8'));
      fs.mkdirSync(path.join(dir, 'datasets', 'boolq'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'datasets', 'boolq', 'test.json'), JSON.stringify(test.slice(0, 2)));
      // stories260K's config, with the rank lists starting at the command's --lora_r 32 and a short search.
      const config = JSON.parse(fs.readFileSync(path.join(configs, 'stories260k-commonsense.json'), 'utf8'));
      for (const rule of config.lonas.search_space) if (rule.rank !== undefined) rule.rank = [32, 16];
      config.bootstrapNAS.search = { ...config.bootstrapNAS.search, num_evals: 4, population: 2 };
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('trains and tests as written, then searches with the README command', async () => {
      const [first] = officialCommands(fs.readFileSync(sharedData('official/running_commands'), 'utf8'));
      const model = sharedData('models/stories260K/stories260K.bin');
      const args = withPaths(first.args, {
        dataset_path: 'commonsense_15k.json',
        model_name_or_path: model,
        output_dir: 'trained',
        nncf_config: 'config.json',
      });
      const tokenizer = ['--tokenizer', sharedData('models/stories260K/tok512.bin')];
      const trained = await cli(['commonsense', ...args, ...tokenizer], { cwd: dir });
      expect(trained.stderr).toContain('accepted and ignored: --warmup_steps');
      expect(trained.code).toBe(0);
      // 12 records, batch 4: 3 micro-steps an epoch, 6 epochs.
      const state = JSON.parse(fs.readFileSync(path.join(dir, 'trained', 'adapter_config.json'), 'utf8'));
      expect(state).toMatchObject({ r: 32, lora_alpha: 64 });
      const results = JSON.parse(fs.readFileSync(path.join(dir, 'trained', 'test_results.json'), 'utf8'));
      expect(results.Heuristic_boolq_accuracy).toBeGreaterThanOrEqual(0);
      const steps = fs
        .readFileSync(path.join(dir, 'trained', 'events.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line))
        .filter((e) => e.type === 'train.step');
      expect(steps).toHaveLength(18);
      // transformers 4.31 steps when the run's micro-step count is a multiple of 4, and at the end of
      // each epoch no longer than a window: 9 optimizer steps (per-epoch counting would give 6).
      expect(
        steps.filter((s, i) => s.optimizerStep > (steps[i - 1]?.optimizerStep ?? 0)).map((s) => s.globalStep),
      ).toEqual([3, 4, 6, 8, 9, 12, 15, 16, 18]);

      const searched = await cli(
        [
          'commonsense',
          '--model_name_or_path',
          model,
          ...tokenizer,
          '--lora',
          '--lora_weights',
          'trained',
          '--dataset_path',
          'commonsense_15k.json',
          '--val_set_size',
          '4',
          '--nncf_config',
          'config.json',
          '--do_search',
          '--output_dir',
          'searched',
          '--num_beams',
          '1',
          '--max_new_tokens',
          '4',
        ],
        { cwd: dir },
      );
      expect(searched.stderr).not.toContain('Error');
      expect(searched.code).toBe(0);
      const summary = JSON.parse(fs.readFileSync(path.join(dir, 'searched', 'search_summary.json'), 'utf8'));
      expect(summary.num_evals).toBe(4);
      expect(summary.val_heuristic_accuracy).toBeGreaterThanOrEqual(0);
      expect(summary.val_maximal_accuracy).toBeGreaterThanOrEqual(0);
    });
  },
);
