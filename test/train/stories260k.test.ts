import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { samplerNamed } from '../../actors/samplers/registry';
import { train } from '../../actors/trainer';
import { selectBackend } from '../../src/backend';
import type { TrainEvent } from '../../src/events';
import { openCheckpoint } from '../../src/models/checkpoint';
import { architectureFromConfig, buildModel } from '../../src/models/registry';
import { ElasticPlan } from '../../src/nas/elastic-plan';
import { SuperNetwork } from '../../src/nas/super-network';
import { searchSpaceFromRules } from '../../src/nas/search-space-rules';
import { collate } from '../../src/train/batches';
import { stagesFrom } from '../../src/train/schedule';
import { taskLoss } from '../../src/train/task-loss';
import { loadTokenizer } from '../../src/tokenizers/load-tokenizer';
import { describeWithSharedData, sharedData } from '../support/shared-data';

describeWithSharedData(
  'training a super-adapter on stories260K with real data',
  ['models/stories260K/stories260K.bin', 'models/stories260K/tok512.bin', 'llm-adapters/dataset/ARC-Easy/train.json'],
  () => {
    it('lowers the loss on 32 ARC-Easy questions and answers', async () => {
      await selectBackend({ requested: 'wasm', log: () => {} });
      const checkpoint = openCheckpoint(sharedData('models/stories260K/stories260K.bin'));
      const loaded = buildModel(checkpoint);
      const architecture = architectureFromConfig(checkpoint.config, 'stories260K');
      const rules = [
        { rank: [8, 4], modules: ['q_proj', 'k_proj', 'v_proj'] },
        { width: [1, 0.75, 0.5], modules: ['gate_proj', 'up_proj'] },
      ];
      const space = searchSpaceFromRules(rules, architecture, 'rules');
      const lora = {
        targetModules: ['q_proj', 'k_proj', 'v_proj', 'up_proj', 'gate_proj', 'down_proj'],
        rank: 8,
        alpha: 16,
        dropout: 0.05,
        modulesToSave: [],
      };
      const network = new SuperNetwork(loaded.model.linears, new ElasticPlan(architecture, lora, space), 0);
      const tokenizer = loadTokenizer(sharedData('models/stories260K/tok512.bin'), { vocabSize: 512 });
      const records = JSON.parse(fs.readFileSync(sharedData('llm-adapters/dataset/ARC-Easy/train.json'), 'utf8')).slice(
        0,
        32,
      );
      const examples = records.map((r: { instruction: string; output: string }) => ({
        inputIds: tokenizer.addSpecialTokens(tokenizer.tokenize(`${r.instruction} ${r.output}`)).ids.slice(0, 96),
      }));
      const losses: number[] = [];
      const output = fs.mkdtempSync(path.join(os.tmpdir(), 'lonas-stories-'));
      await train({
        network,
        loss: taskLoss(loaded),
        examples,
        collate: (batch) => collate(batch, { padTokenId: 0, paddingSide: 'left', padToMultipleOf: 8 }),
        stages: stagesFrom(
          [{ train_dims: ['width'], epochs: 3, width_indicator: 5, init_lr: 1e-2, sample_rate: 1 }],
          'test',
        ),
        sampler: samplerNamed('uniform')(space, { seed: 0 }),
        batchSize: 8,
        gradientAccumulationSteps: 1,
        epochs: 3,
        seed: 0,
        outputDir: output,
        saveStrategy: 'no',
        adapter: { baseModel: 'stories260K', taskType: 'CAUSAL_LM' },
        events: {
          next: (e: TrainEvent | { type: string }) =>
            e.type === 'train.epoch' && losses.push((e as { meanLoss: number }).meanLoss),
        },
      });
      expect(losses).toHaveLength(3);
      expect(losses[2]).toBeLessThan(losses[0]);
      fs.rmSync(output, { recursive: true, force: true });
    });
  },
);
