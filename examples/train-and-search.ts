/**
 * A LoNAS experiment in a few lines: load a model, make it a super-network from a config,
 * watch the event stream, train, then search with a strategy chosen by name.
 *
 *   npx ts-node examples/train-and-search.ts <model folder> <config> [strategy]
 */
import * as os from 'os';
import * as path from 'path';
import { Subject } from 'rxjs';
import * as lonas from 'lonas';

export async function main(modelFolder: string, configFile: string, strategy = 'NSGA2'): Promise<lonas.SearchResult> {
  await lonas.selectBackend({ requested: 'wasm' });
  const checkpoint = lonas.openCheckpoint(modelFolder);
  const config = lonas.readNasConfig(configFile);
  const { loaded, network } = lonas.openSuperNetwork(checkpoint, config);
  const { plan } = network;
  const tokenizer = lonas.loadTokenizer(modelFolder);

  // Every actor's events arrive on one stream: print the epochs and the search generations.
  const events = new Subject<lonas.LonasEvent>();
  events.subscribe((event) => {
    if (event.type === 'train.epoch') console.log(`epoch ${event.epoch + 1}: mean loss ${event.meanLoss.toFixed(3)}`);
    if (event.type === 'search.generation')
      console.log(`generation ${event.generation + 1}: front of ${event.front.length}`);
  });

  const examples = ['the cat sat on the mat', 'the dog ran', 'a cat is on a mat', 'the dog sat on a cat'].map(
    (text) => ({
      inputIds: tokenizer.addSpecialTokens(tokenizer.tokenize(text)).ids,
    }),
  );
  const output = path.join(os.tmpdir(), `lonas-example-${process.pid}`);
  const loss = lonas.taskLoss(loaded);
  const collate = (batch: lonas.Example[]) => lonas.collate(batch, { padTokenId: 0, paddingSide: 'left' });
  await lonas.train({
    network,
    loss,
    examples: [...examples, ...examples],
    collate,
    stages: lonas.stagesFrom(config.nncf.bootstrapNAS.training?.schedule?.list_stage_descriptions, configFile),
    sampler: lonas.samplerNamed('uniform')(plan.space, { seed: 0 }),
    batchSize: 2,
    gradientAccumulationSteps: 1,
    epochs: 2,
    seed: 0,
    outputDir: output,
    saveStrategy: 'no',
    adapter: { baseModel: modelFolder, taskType: 'CAUSAL_LM' },
    events,
  });

  // Search: MACs from the cost model, "accuracy" here = 1 / (1 + loss) on the training sentences.
  const batch = collate(examples);
  const result = await lonas.search({
    space: plan.space,
    strategy: lonas.strategyNamed(strategy)({
      space: plan.space,
      choices: plan.space.groups.map((g) => g.widths.length),
      population: 4,
      seed: 0,
    }),
    algorithm: strategy,
    numEvals: 12,
    population: 4,
    macs: (subnet) => lonas.subnetCost(plan, subnet, { tokens: 32 }).macs / 1e6,
    evaluators: lonas.inProcessPool(async (subnet) => {
      network.activate(subnet);
      const value = loss(batch);
      const mean = value.dataSync()[0];
      value.dispose();
      return 1 / (1 + mean);
    }),
    refAcc: 0.3,
    accDelta: 0.01,
    outputDir: output,
    events,
  });
  console.log(
    `best: ${result.best.macs.toFixed(3)} MMACs, score ${result.best.accuracy.toFixed(3)}; outputs in ${output}`,
  );
  loaded.model.dispose();
  return result;
}

if (require.main === module) {
  const [model, config, strategy] = process.argv.slice(2);
  main(model, config, strategy).catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
