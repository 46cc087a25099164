/**
 * A whole LoNAS experiment from a script: the NNCF config as an object, a search strategy and a
 * sampler of the script's own handed over as they are (no files, no names to register),
 * train -> test -> search through runExperiment, and the run's events watched as they happen.
 *
 *   npx ts-node examples/plugin-experiment.ts <model folder> <config> <train.json> <datasets dir> <output dir>
 */
import * as fs from 'fs';
import { runExperiment, type ExperimentOutcome } from 'lonas';
import { frontMutation, hardestAgain } from './plugins';

export async function main(
  model: string,
  baseConfig: string,
  trainFile: string,
  datasetsDir: string,
  outputDir: string,
): Promise<{ outcome: ExperimentOutcome; sampled: string[]; log: string[] }> {
  // The strategy's and the sampler's settings stay where NNCF keeps them: in the config's sections.
  const nncfConfig = JSON.parse(fs.readFileSync(baseConfig, 'utf8'));
  nncfConfig.lonas = { ...nncfConfig.lonas, sampler: { repeat_probability: 0.5 } };
  nncfConfig.bootstrapNAS.search = { step: 1, num_evals: 8, population: 4 };

  const run = runExperiment({
    task: {
      kind: 'commonsense',
      datasetPath: trainFile,
      valSetSize: 4,
      datasetsDir,
      cutoffLen: 64,
      numBeams: 1,
      maxNewTokens: 4,
    },
    model,
    nncfConfig,
    outputDir,
    search: frontMutation,
    sampler: hardestAgain,
    training: { batchSize: 2, epochs: 2, seed: 0, saveStrategy: 'no' },
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
