import * as fs from 'fs';
import * as path from 'path';
import { experimentConfig } from '../../actors/experiment/experiment-config';
import { runExperiment } from '../../actors/experiment/run-experiment';
import { checkExperiment } from '../../actors/experiment/validate';
import { inProcessPool } from '../../actors/evaluators/evaluator-pool';
import { defineStrategy } from '../../actors/plugins';
import type { SubnetConfig } from '../../src/nas/search-space';
import type { Task } from '../../src/tasks/task';
import { TRAINING_DEFAULTS } from '../../src/train/training-settings';
import { makeTinyCheckpoints } from '../support/tiny-checkpoints';

const tinyConfig = () =>
  JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'configs', 'tiny', 'llama.json'), 'utf8'));

describe('experimentConfig', () => {
  it("fills the official scripts' defaults, keeping what was given (an undefined setting is not given)", () => {
    const config = experimentConfig({
      model: 'm',
      task: { kind: 'commonsense', datasetPath: 'train.json', cutoffLen: undefined, numBeams: 2 },
      nncfConfig: 'c.json',
      outputDir: 'o',
      training: { batchSize: 4, seed: undefined },
    });
    expect(config.task).toEqual({
      kind: 'commonsense',
      datasetPath: 'train.json',
      valSetSize: 120,
      datasetsDir: 'datasets',
      cutoffLen: 256,
      trainOnInputs: true,
      numBeams: 2,
      maxNewTokens: 32,
    });
    expect(config.training).toEqual({ ...TRAINING_DEFAULTS, batchSize: 4 });
    expect(config.training).toMatchObject({ seed: 42, optim: 'adamw_hf', gradientAccumulationSteps: 1 });
    expect(config.training.epochs).toBeUndefined();
    expect(config).toMatchObject({ evalBatchSize: 8, lora: {}, overwriteOutputDir: false });
    expect(config.phases).toEqual({ train: true, eval: false, test: true, search: true });
  });

  it("gives each task its own defaults and phases: math's, GLUE's, plain text's (training only)", () => {
    const base = { model: 'm', nncfConfig: 'c', outputDir: 'o' };
    expect(experimentConfig({ ...base, task: { kind: 'math' } }).task).toMatchObject({
      valSetSize: 0,
      maxNewTokens: 256,
    });
    const glue = experimentConfig({ ...base, task: { kind: 'glue', taskName: 'rte', datasetPath: 'd' } });
    expect(glue.task).toMatchObject({ maxSeqLength: 128 });
    const text = experimentConfig({ ...base, task: { kind: 'text', trainFile: 't.json' }, phases: { train: true } });
    expect(text.task).toMatchObject({ maxSeqLength: 256 });
    expect(text.phases).toEqual({ train: true, eval: false, test: false, search: false });
  });
});

describe('checking an experiment', () => {
  const tiny = makeTinyCheckpoints();
  afterAll(() => tiny.remove());

  it('reports every problem at once, naming each field, before anything loads', () => {
    const nncf = tinyConfig();
    nncf.bootstrapNAS.search.population = 0;
    const config = experimentConfig({
      model: path.join(tiny.folder, 'no-model'),
      task: { kind: 'commonsense', datasetPath: path.join(tiny.folder, 'no-train.json') },
      nncfConfig: nncf,
      outputDir: path.join(tiny.folder, 'checked'),
      training: { batchSize: 0, weightDecay: -1, epochs: 1e12 },
      evalBatchSize: 1.5,
      loraWeights: path.join(tiny.folder, 'no-adapter'),
    });
    let message = '';
    try {
      checkExperiment(config);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^8 problems in the experiment's settings:\n/);
    for (const problem of [
      'nncfConfig: bootstrapNAS.search.population must be an integer between 1 and num_evals',
      'no-train.json',
      'training.batchSize must be a positive integer, got 0',
      'training.epochs (--num_train_epochs) must be at most 100000, got 1000000000000',
      'evalBatchSize must be a positive integer, got 1.5',
      'training.weightDecay must be a number >= 0, got -1',
      'no-model: no such model folder or checkpoint file',
      'no-adapter: no adapter_config.json (expected a PEFT adapter folder)',
    ])
      expect(message).toContain(problem);
  });

  it('says a single problem as it is', () => {
    const config = experimentConfig({
      model: tiny.path('llama'),
      task: { kind: 'text', trainFile: path.join(tiny.folder, 'absent.json') },
      nncfConfig: tinyConfig(),
      outputDir: path.join(tiny.folder, 'single'),
    });
    expect(() => checkExperiment(config)).toThrow(/^\S*absent\.json: no such training file$/);
  });
});

describe('a script hands lonas objects', () => {
  const tiny = makeTinyCheckpoints();
  afterAll(() => tiny.remove());

  it('trains and searches a task of its own, with an inline config, its strategy and its evaluators', async () => {
    const nncf = tinyConfig();
    nncf.bootstrapNAS.training.schedule.list_stage_descriptions[0].epochs = 1;
    nncf.bootstrapNAS.search = { num_evals: 6, population: 3 };
    // A task of the script's own: a few token sequences to learn, and a score per subnet.
    const sizes: number[] = [];
    const task: Task = {
      name: 'toy',
      validate: () => {},
      bind: ({ network }) => ({
        paddingSide: 'left',
        trainingExamples: () => [1, 2, 3, 4].map((n) => ({ inputIds: [n, n + 1, n + 2, n + 3] })),
        objective: () => ({
          metric: 'toy',
          examples: 1,
          fingerprint: 'toy',
          records: [],
          score: async (subnet: SubnetConfig) => {
            network.activate(subnet);
            return Object.values(subnet).reduce((sum, width) => sum + width, 0) / 1000;
          },
        }),
      }),
    };
    const asked: number[][] = [];
    const everyOther = defineStrategy({
      name: 'every-other',
      create: ({ choices, population }) => ({
        ask: () => {
          const genes = Array.from({ length: population }, (_, i) => choices.map((n) => (asked.length + i) % n));
          asked.push(...genes);
          return genes;
        },
        tell: () => {},
      }),
    });
    const scored: SubnetConfig[] = [];
    const outputDir = path.join(tiny.folder, 'objects');
    const outcome = await runExperiment({
      model: tiny.path('llama'),
      task,
      nncfConfig: nncf,
      outputDir,
      search: everyOther,
      evaluators: (objective) =>
        inProcessPool(async (subnet) => {
          scored.push(subnet);
          sizes.push(Object.keys(subnet).length);
          return objective.score(subnet);
        }),
      phases: { test: false },
      training: { batchSize: 2, seed: 0 },
    }).result;
    expect({ status: outcome.status, reason: outcome.reason }).toEqual({ status: 'done', reason: undefined });
    expect(outcome.results.train).toMatchObject({ epochs: 1, globalSteps: 2 });
    expect(outcome.results.search).toMatchObject({ evaluated: 6 });
    // The maximal subnet was scored before the search, here; the pool scored every other candidate.
    expect(scored.length).toBe(5);
    expect(asked.length).toBeGreaterThanOrEqual(6);
    const summary = JSON.parse(fs.readFileSync(path.join(outputDir, 'search_summary.json'), 'utf8'));
    expect(summary.algorithm).toBe('every-other');
  });

  it('refuses a task object where evaluators elsewhere would have to open it', async () => {
    const nncf = tinyConfig();
    nncf.lonas.eval_workers = 2;
    const task: Task = {
      name: 'toy',
      validate: () => {},
      bind: () => ({ paddingSide: 'left', trainingExamples: () => [] }),
    };
    const outcome = await runExperiment({
      model: tiny.path('llama'),
      task,
      nncfConfig: nncf,
      outputDir: path.join(tiny.folder, 'refused'),
    }).result;
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toContain('a task object stays in this process (pass evaluators instead)');
  });
});
