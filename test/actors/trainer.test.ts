import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import { train } from '../../actors/trainer';
import { selectBackend } from '../../src/backend';
import type { LonasEvent, TrainStepEvent } from '../../src/events';
import { Linear } from '../../src/nn/linear';
import { stageLearningRate } from '../../src/train/schedule';
import { makeTinyCheckpoints } from '../support/tiny-checkpoints';
import { tinyTraining } from '../support/training';

describe('the trainer actor', () => {
  const tiny = makeTinyCheckpoints();
  beforeAll(() => selectBackend({ requested: 'wasm', log: () => {} }));
  afterAll(() => tiny.remove());

  it('lowers the loss, sampling a subnet per micro-batch, with stage and lr events', async () => {
    const events: LonasEvent[] = [];
    const { input, network, loaded } = tinyTraining(tiny.path('llama'), `${tiny.folder}/run`, {
      events: { next: (e) => events.push(e) },
    });
    const frozen = (network.layers.get('model.layers.0.mlp.gate_proj')?.base as Linear).weight.dataSync().slice();
    const result = await train(input);
    const steps = events.filter((e): e is TrainStepEvent => e.type === 'train.step');
    expect(steps).toHaveLength(18);
    const epochs = events.filter((e) => e.type === 'train.epoch').map((e) => (e as { meanLoss: number }).meanLoss);
    expect(epochs[2]).toBeLessThan(epochs[0] * 0.8);
    expect(events[0]).toEqual({ type: 'train.stage', stage: 0, epoch: 0, widthIndicator: 5, sampleRate: 1 });
    expect(new Set(steps.map((s) => JSON.stringify(s.subnet))).size).toBeGreaterThan(10);
    expect(steps[0].lr).toBeCloseTo(stageLearningRate(input.stages[0], 0, 1, 6), 12);
    expect(steps.every((s) => s.examplesPerSecond > 0 && Number.isFinite(s.loss))).toBe(true);
    expect(steps.map((s) => s.optimizerStep).slice(0, 4)).toEqual([0, 1, 1, 2]);
    expect(result).toMatchObject({ epochs: 3, globalSteps: 18, interrupted: false });
    // The base stays frozen; the adapter and checkpoints are written.
    expect((network.layers.get('model.layers.0.mlp.gate_proj')?.base as Linear).weight.dataSync()).toEqual(frozen);
    expect(fs.existsSync(`${tiny.folder}/run/adapter_model.safetensors`)).toBe(true);
    expect(fs.readdirSync(`${tiny.folder}/run`).filter((f) => f.startsWith('checkpoint-'))).toHaveLength(3);
    loaded.model.dispose();
  });

  it('keeps the tensor count flat across training steps', async () => {
    const counts: number[] = [];
    const { input, loaded } = tinyTraining(tiny.path('llama'), `${tiny.folder}/flat`, {
      saveStrategy: 'no',
      events: { next: (e) => e.type === 'train.step' && counts.push(tf.memory().numTensors) },
    });
    await train(input);
    // Between optimizer steps the accumulated gradients are held: compare like with like.
    const afterUpdates = counts.filter((_, i) => i % 2 === 1);
    expect(new Set(afterUpdates.slice(1)).size).toBe(1);
    const midWindow = counts.filter((_, i) => i % 2 === 0);
    expect(new Set(midWindow.slice(1)).size).toBe(1);
    loaded.model.dispose();
  });

  it('keeps only the newest save_total_limit checkpoints', async () => {
    const { input, loaded } = tinyTraining(tiny.path('llama'), `${tiny.folder}/limit`, { saveTotalLimit: 2 });
    await train(input);
    expect(
      fs
        .readdirSync(`${tiny.folder}/limit`)
        .filter((f) => f.startsWith('checkpoint-'))
        .sort(),
    ).toEqual(['checkpoint-12', 'checkpoint-18']);
    loaded.model.dispose();
  });

  it('an aborted signal checkpoints after the current micro-step and stops; a resume goes on from there', async () => {
    const folder = `${tiny.folder}/aborted`;
    const abort = new AbortController();
    const events: LonasEvent[] = [];
    const { input, loaded } = tinyTraining(tiny.path('llama'), folder, {
      signal: abort.signal,
      events: {
        next: (e) => {
          events.push(e);
          if (e.type === 'train.step' && e.globalStep === 4) abort.abort(new Error('stop'));
        },
      },
    });
    const result = await train(input);
    expect(result).toMatchObject({ epochs: 0, globalSteps: 4, interrupted: true });
    expect(result.losses).toHaveLength(4);
    expect(events.slice(-2)).toEqual([
      { type: 'train.checkpoint', folder: `${folder}/checkpoint-4`, epoch: 0, globalStep: 4, reason: 'signal' },
      { type: 'train.done', epochs: 0, globalSteps: 4, interrupted: true },
    ]);
    expect(fs.existsSync(`${folder}/adapter_model.safetensors`)).toBe(false);
    const resumed = await train({ ...input, signal: undefined, events: undefined, resume: true });
    expect(resumed).toMatchObject({ epochs: 3, globalSteps: 18, interrupted: false });
    expect(resumed.losses).toHaveLength(14);
    loaded.model.dispose();
  });

  it('keeps a bounded number of checkpoints when no save_total_limit is given', async () => {
    const folder = `${tiny.folder}/unlimited`;
    const { input, loaded } = tinyTraining(tiny.path('llama'), folder, { epochs: 5 });
    await train(input);
    const kept = fs.readdirSync(folder).filter((f) => f.startsWith('checkpoint-'));
    expect(kept.sort((a, b) => Number(a.slice(11)) - Number(b.slice(11)))).toEqual([
      'checkpoint-18',
      'checkpoint-24',
      'checkpoint-30',
    ]);
    loaded.model.dispose();
  });
});
