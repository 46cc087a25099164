/**
 * Plugging in a sampler of your own: an xstate transition actor that receives SAMPLE events.
 * This one alternates between the heuristic subnet and a uniform sample, and is registered
 * under a name so a config's `lonas.sampler.name` can choose it.
 *
 *   npx ts-node examples/custom-sampler.ts <model folder> <config>
 */
import * as os from 'os';
import * as path from 'path';
import { fromTransition } from 'xstate';
import * as lonas from '../src';
import { SeededRandom } from '../src/util/seeded-random';

export const heuristicOrUniform: lonas.SamplerFactory = (space, { seed }) =>
  fromTransition(
    (state: lonas.SamplerState, event: lonas.SampleEvent): lonas.SamplerState => {
      const random = new SeededRandom(0);
      random.state = state.random;
      const subnet = state.count % 2 === 0 ? space.heuristic() : space.sample(random, event.widthIndicator);
      return { subnet, random: random.state, count: state.count + 1 };
    },
    { subnet: space.heuristic(), random: seed, count: 0 },
  );

export async function main(modelFolder: string, configFile: string): Promise<string[]> {
  lonas.samplerRegistry['heuristic-or-uniform'] = heuristicOrUniform;
  await lonas.selectBackend({ requested: 'wasm' });
  const checkpoint = lonas.openCheckpoint(modelFolder);
  const config = lonas.readNasConfig(configFile);
  const { loaded, network } = lonas.openSuperNetwork(checkpoint, config);
  const { plan } = network;
  const tokenizer = lonas.loadTokenizer(modelFolder);
  const examples = ['the cat sat', 'the dog ran', 'a cat is on a mat', 'the dog sat'].map((text) => ({
    inputIds: tokenizer.addSpecialTokens(tokenizer.tokenize(text)).ids,
  }));
  const subnets: string[] = [];
  await lonas.train({
    network,
    loss: lonas.taskLoss(loaded),
    examples,
    collate: (batch) => lonas.collate(batch, { padTokenId: 0, paddingSide: 'left' }),
    stages: lonas.stagesFrom(config.nncf.bootstrapNAS.training?.schedule?.list_stage_descriptions, configFile),
    sampler: lonas.samplerNamed('heuristic-or-uniform')(plan.space, { seed: 1 }),
    batchSize: 1,
    gradientAccumulationSteps: 1,
    epochs: 1,
    seed: 0,
    outputDir: path.join(os.tmpdir(), `lonas-sampler-${process.pid}`),
    saveStrategy: 'no',
    adapter: { baseModel: modelFolder, taskType: 'CAUSAL_LM' },
    events: { next: (event) => event.type === 'train.step' && subnets.push(JSON.stringify(event.subnet)) },
  });
  subnets.forEach((subnet, i) => console.log(`step ${i + 1}: ${subnet}`));
  loaded.model.dispose();
  return subnets;
}

if (require.main === module) {
  const [model, config] = process.argv.slice(2);
  main(model, config).catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
