/**
 * A whole LoNAS experiment from a script: a config that loads a search strategy and a sampler
 * from a plug-in file, train -> test -> search through runExperiment, and the run's events
 * watched as they happen.
 *
 *   npx ts-node examples/plugin-experiment.ts <model folder> <config> <train.json> <datasets dir> <output dir>
 */
import * as fs from 'fs';
import * as path from 'path';
import { runExperiment, type ExperimentOutcome } from 'lonas';

export async function main(
  model: string,
  baseConfig: string,
  trainFile: string,
  datasetsDir: string,
  outputDir: string,
): Promise<{ outcome: ExperimentOutcome; sampled: string[]; log: string[] }> {
  // The config names the plug-ins' file and chooses its strategy and sampler by name.
  const config = JSON.parse(fs.readFileSync(baseConfig, 'utf8'));
  config.lonas = {
    ...config.lonas,
    plugins: [path.join(__dirname, 'plugins')],
    sampler: { name: 'hardest-again', repeat_probability: 0.5 },
  };
  config.bootstrapNAS.search = { algorithm: 'front-mutation', step: 1, num_evals: 8, population: 4 };
  fs.mkdirSync(outputDir, { recursive: true });
  const configFile = path.join(outputDir, 'config.json');
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));

  const run = runExperiment({
    task: {
      kind: 'commonsense',
      datasetPath: trainFile,
      valSetSize: 4,
      datasetsDir,
      cutoffLen: 64,
      trainOnInputs: true,
      numBeams: 1,
      maxNewTokens: 4,
    },
    model,
    nncfConfig: configFile,
    outputDir,
    phases: { train: true, eval: false, test: true, search: true },
    lora: {},
    training: {
      batchSize: 2,
      gradientAccumulationSteps: 1,
      epochs: 2,
      seed: 0,
      weightDecay: 0,
      optim: 'adamw_torch',
      saveStrategy: 'no',
      resume: false,
      evaluationStrategy: 'no',
    },
    evalBatchSize: 4,
  });

  // Every actor's events arrive on one stream.
  const sampled: string[] = [];
  const log: string[] = [];
  run.events$.subscribe((event) => {
    if (event.type === 'train.step') sampled.push(JSON.stringify(event.subnet));
    if (event.type === 'train.epoch') log.push(`epoch ${event.epoch + 1}: mean loss ${event.meanLoss.toFixed(3)}`);
    if (event.type === 'eval.result' && event.split !== undefined)
      log.push(`${event.split}: ${event.value.toFixed(3)}`);
    if (event.type === 'search.generation')
      log.push(`generation ${event.generation + 1}: front of ${event.front.length}`);
  });
  const outcome = await run.result;
  for (const line of log) console.log(line);
  return { outcome, sampled, log };
}

if (require.main === module) {
  const [model, config, train, datasets, output] = process.argv.slice(2);
  main(model, config, train, datasets, output).then(({ outcome }) => {
    console.log(`${outcome.status}; outputs in ${output}`);
    if (outcome.status !== 'done') process.exitCode = 1;
  });
}
