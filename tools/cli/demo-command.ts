import { packagePath } from '../../src/backend/build-artifacts';
import type { Command } from './command';
import { taskCommand } from './task-command';

/**
 * The embedded default: a small LLaMA that lonas pretrained on numbers (tools/demo/make.ts) and
 * a commonsense-format task about comparing them, run as `lonas commonsense` would run it.
 */
function demoDefaults(): Record<string, string | true> {
  return {
    model_name_or_path: packagePath('tools', 'demo', 'model'),
    nncf_config: packagePath('configs', 'demo-commonsense.json'),
    dataset_path: packagePath('tools', 'demo', 'data', 'train.json'),
    datasets_dir: packagePath('tools', 'demo', 'data', 'datasets'),
    test_datasets: 'compare,choose',
    val_set_size: '200',
    output_dir: 'lonas-demo',
    cutoff_len: '128',
    train_on_inputs: 'false',
    per_device_train_batch_size: '16',
    num_train_epochs: '4',
    optim: 'adamw_torch',
    seed: '0',
    per_device_eval_batch_size: '50',
    num_beams: '1',
    max_new_tokens: '6',
    live: '0',
    // Running the demo again replaces its last run.
    overwrite_output_dir: true,
    do_train: true,
    do_test: true,
    do_search: true,
  };
}

/** `--flag value` or `--flag=value`: the names given. */
const flagNames = (args: string[]) =>
  new Set(args.filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=')[0]));

export const demoCommand: Command = {
  name: 'demo',
  summary: 'the whole pipeline on the embedded model and task: train, test, search, live dashboard',
  usage: `usage: lonas demo [lonas commonsense flags]

Runs LoNAS end to end on lonas's embedded default, with nothing to download: a 4-layer LLaMA
pretrained by lonas on sentences about numbers (tools/demo/model, made by tools/demo/make.ts) and
a task of comparing numbers in LLM-Adapters' commonsense formats (tools/demo/data). It trains the
super-adapter, tests the heuristic subnet on the compare and choose test sets, searches the
Pareto front with NSGA-II (configs/demo-commonsense.json), serves the live dashboard meanwhile,
and prints the front and where every output is.

Its settings are those of 'lonas commonsense', and any of its flags overrides them:
${Object.entries(demoDefaults())
  .map(([flag, value]) => `  --${flag}${value === true ? '' : ` ${value}`}`)
  .join('\n')}`,
  run(args) {
    const given = flagNames(args);
    const defaults = Object.entries(demoDefaults())
      .filter(([flag]) => !given.has(flag))
      .flatMap(([flag, value]) => (value === true ? [`--${flag}`] : [`--${flag}`, value]));
    return taskCommand('commonsense').run([...defaults, ...args]);
  },
};
