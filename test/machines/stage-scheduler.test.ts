import { createActor } from 'xstate';
import { stageSchedulerMachine, type StageSchedulerContext } from '../../machines/stage-scheduler';
import { globalScheduleFrom, stagesFrom, stageLearningRate, type GlobalSchedule } from '../../src/train/schedule';

const context = (actor: { getSnapshot(): { context: unknown } }) =>
  actor.getSnapshot().context as StageSchedulerContext;

describe('stage schedule', () => {
  const stages = stagesFrom(
    [
      { train_dims: ['width'], epochs: 2, width_indicator: 2, init_lr: 1e-3, epochs_lr: 2, sample_rate: 1 },
      { train_dims: ['width'], epochs: 1, width_indicator: 5, init_lr: 5e-4, sample_rate: 2 },
    ],
    'cfg.json',
  );

  it("follows NNCF's per-stage cosine: t = e (N - 1) + k over epochs_lr x N", () => {
    const N = 4;
    expect(stageLearningRate(stages[0], 0, 1, N)).toBeCloseTo(0.5e-3 * (1 + Math.cos(Math.PI / 8)), 12);
    expect(stageLearningRate(stages[0], 1, 4, N)).toBeCloseTo(0.5e-3 * (1 + Math.cos((Math.PI * 7) / 8)), 12);
  });

  it('moves through the stages on epoch boundaries, changing width indicator, sample rate and lr', () => {
    const actor = createActor(stageSchedulerMachine(stages, { stepsPerEpoch: 3 })).start();
    const seen: Array<[string, number, number, number]> = [];
    for (let epoch = 0; epoch < 4; epoch++) {
      for (let k = 0; k < 3; k++) {
        actor.send({ type: 'MICRO_STEP' });
        const c = context(actor);
        seen.push([actor.getSnapshot().value as string, c.widthIndicator, c.sampleRate, c.lr]);
      }
      actor.send({ type: 'EPOCH_END' });
    }
    expect(seen.slice(0, 6).every(([state, wi, rate]) => state === 'stage0' && wi === 2 && rate === 1)).toBe(true);
    expect(seen.slice(6).every(([state, wi, rate]) => state === 'stage1' && wi === 5 && rate === 2)).toBe(true);
    expect(seen[0][3]).toBeCloseTo(stageLearningRate(stages[0], 0, 1, 3), 15);
    expect(seen[5][3]).toBeCloseTo(stageLearningRate(stages[0], 1, 3, 3), 15);
    // The second stage restarts its own cosine at init_lr 5e-4.
    expect(seen[6][3]).toBeCloseTo(stageLearningRate(stages[1], 0, 1, 3), 15);
    expect(seen[6][3]).toBeGreaterThan(seen[5][3]);
    // Past the schedule, the last stage stays on and its cosine continues.
    expect(seen[9][0]).toBe('stage1');
    expect(seen[9][3]).toBeCloseTo(stageLearningRate(stages[1], 1, 1, 3), 15);
  });

  it('persists and restores its snapshot mid-schedule', () => {
    const machine = stageSchedulerMachine(stages, { stepsPerEpoch: 3 });
    const actor = createActor(machine).start();
    for (let i = 0; i < 3; i++) actor.send({ type: 'MICRO_STEP' });
    actor.send({ type: 'EPOCH_END' });
    actor.send({ type: 'MICRO_STEP' });
    const saved = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
    const restored = createActor(machine, { snapshot: saved }).start();
    for (const a of [actor, restored]) {
      a.send({ type: 'MICRO_STEP' });
      a.send({ type: 'MICRO_STEP' });
      a.send({ type: 'EPOCH_END' });
      a.send({ type: 'MICRO_STEP' });
    }
    expect(context(restored)).toEqual(context(actor));
    expect(restored.getSnapshot().value).toBe('stage1');
  });

  it('can be inspected: every transition is observable', () => {
    const events: string[] = [];
    const actor = createActor(stageSchedulerMachine(stages, { stepsPerEpoch: 1 }), {
      inspect: (e) => {
        if (e.type === '@xstate.event') events.push((e as { event: { type: string } }).event.type);
      },
    }).start();
    actor.send({ type: 'MICRO_STEP' });
    actor.send({ type: 'EPOCH_END' });
    expect(events).toEqual(expect.arrayContaining(['MICRO_STEP', 'EPOCH_END']));
  });

  /** The machine's learning rate and sampling decision at every micro-step of `epochs` epochs. */
  const machineRun = (N: number, epochs: number, globalSchedule?: GlobalSchedule) => {
    const actor = createActor(stageSchedulerMachine(stages, { stepsPerEpoch: N, globalSchedule })).start();
    const seen: Array<{ lr: number; sample: boolean }> = [];
    for (let epoch = 0; epoch < epochs; epoch++) {
      for (let k = 0; k < N; k++) {
        actor.send({ type: 'MICRO_STEP' });
        seen.push({ lr: context(actor).lr, sample: context(actor).sample });
      }
      actor.send({ type: 'EPOCH_END' });
    }
    return seen;
  };

  it.each([
    ['per-stage schedules', undefined],
    ['a global schedule', { baseLr: 1e-2, numEpochs: 3, warmupEpochs: 0, warmupLr: 3.4e-4 }],
    ['a global schedule with warm-up', { baseLr: 1e-2, numEpochs: 2, warmupEpochs: 1, warmupLr: 1e-3 }],
  ])("samples and sets the learning rate at NNCF's steps, with %s", (_, globalSchedule) => {
    const N = 3;
    const seen = machineRun(N, 5, globalSchedule);
    const reference = nncfRun(stages, N, 5, globalSchedule);
    expect(seen.map((s) => s.sample)).toEqual(reference.map((r) => r.sample));
    seen.forEach((s, i) => expect(s.lr).toBeCloseTo(reference[i].lr, 15));
  });

  it('restarts the sample_rate counter when a stage begins', () => {
    // The second stage (sample_rate 2) begins at micro-step 6 of the run with 3 a epoch: it samples at
    // its own steps 0, 2, 4, ..., the run's 6, 8, 10; a 5-a-epoch run starts it at 10: 10, 12, 14.
    const sampled = (N: number) =>
      machineRun(N, 3)
        .map((s, i) => (s.sample ? i : -1))
        .filter((i) => i >= 2 * N);
    expect(sampled(3)).toEqual([6, 8]);
    expect(sampled(5)).toEqual([10, 12, 14]);
    const odd = stagesFrom(
      [
        { epochs: 1, init_lr: 1e-3, sample_rate: 1 },
        { epochs: 2, init_lr: 1e-3, sample_rate: 2 },
      ],
      'cfg.json',
    );
    const actor = createActor(stageSchedulerMachine(odd, { stepsPerEpoch: 3 })).start();
    const samples: number[] = [];
    for (let epoch = 0; epoch < 3; epoch++) {
      for (let k = 0; k < 3; k++) {
        actor.send({ type: 'MICRO_STEP' });
        if (context(actor).sample) samples.push(epoch * 3 + k);
      }
      actor.send({ type: 'EPOCH_END' });
    }
    // A counter over the whole run would sample at 4, 6, 8.
    expect(samples).toEqual([0, 1, 2, 3, 5, 7]);
  });

  it.each([
    [{ epochs: 0 }, 'list_stage_descriptions[0]: epochs must be a positive integer, got 0'],
    [{ train_dims: ['widht'] }, "list_stage_descriptions[0]: unknown train_dims 'widht'"],
    [{ train_dims: ['depth'] }, "train_dims 'depth' is not elastic in lonas (only width)"],
    [{ init_lr: -1e-4 }, 'list_stage_descriptions[0]: init_lr must be positive, got -0.0001'],
    [{ width_indicator: 0 }, 'width_indicator must be -1 or a positive integer, got 0'],
  ])('refuses a bad stage %j', (stage, message) => {
    expect(() => stagesFrom([stage], 'cfg.json')).toThrow(message);
  });

  it('refuses an empty schedule', () => {
    expect(() => stagesFrom([], 'cfg.json')).toThrow(
      'cfg.json: bootstrapNAS.training.schedule.list_stage_descriptions is empty or missing',
    );
  });
});

describe("the config's global lr_schedule", () => {
  const stages = [{ epochs: 2 }, { epochs: 3 }];

  it("is read with NNCF's defaults when given, absent otherwise", () => {
    expect(globalScheduleFrom({ params: { base_lr: 3e-4 } }, stages, 'cfg.json')).toEqual({
      baseLr: 3e-4,
      numEpochs: 5,
      warmupEpochs: 0,
      warmupLr: 3.4e-4,
    });
    expect(
      globalScheduleFrom(
        { type: 'cosine', params: { base_lr: 3e-4, num_epochs: 8, warmup_epochs: 1, warmup_lr: 1e-5 } },
        stages,
        'cfg.json',
      ),
    ).toEqual({ baseLr: 3e-4, numEpochs: 8, warmupEpochs: 1, warmupLr: 1e-5 });
    expect(globalScheduleFrom(undefined, stages, 'cfg.json')).toBeUndefined();
  });

  it('refuses what NNCF would not run', () => {
    expect(() => globalScheduleFrom({ type: 'multistep', params: { base_lr: 1 } }, stages, 'cfg.json')).toThrow(
      'cfg.json: bootstrapNAS.training.lr_schedule.type must be "cosine"',
    );
    expect(() => globalScheduleFrom({ params: {} }, stages, 'cfg.json')).toThrow(
      'lr_schedule.params.base_lr must be a positive number, got undefined',
    );
    expect(() => globalScheduleFrom({ params: { base_lr: 1e-3 } }, [{ epochs: 1, init_lr: 1e-3 }], 'cfg.json')).toThrow(
      "is a global schedule: list_stage_descriptions[0].init_lr cannot set a stage's own",
    );
  });
});

/**
 * NNCF's schedulers run step by step as its Python code does (BaseCompressionScheduler's counters
 * from -1, BootstrapNASScheduler.epoch_step/step, StageLRScheduler.reset and GlobalLRScheduler.step):
 * the learning rate after each micro-step and whether ProgressiveShrinkingController.step sampled.
 */
function nncfRun(
  stages: Array<{ epochs: number; initLr: number; epochsLr: number; sampleRate: number }>,
  N: number,
  epochs: number,
  global?: GlobalSchedule,
): Array<{ lr: number; sample: boolean }> {
  let step = -1;
  let epoch = -1;
  let stageIndex = -1;
  let rate = 1;
  let initLr = 0;
  let epochsLr = 0;
  let lr = 0;
  const cosine = (e: number, batch: number, base: number, n: number) =>
    0.5 * base * (1 + Math.cos((Math.PI * (e * N + batch)) / (n * N)));
  const lrStep = (next?: number) => {
    step = next ?? step + 1;
    const batch = step - epoch * (N + 1);
    if (global === undefined) lr = cosine(epoch, batch, initLr, epochsLr);
    else if (epoch < global.warmupEpochs && epoch !== -1) {
      const t = epoch * N + batch + 1;
      lr = (t / (global.warmupEpochs * N)) * (global.baseLr - global.warmupLr) + global.warmupLr;
    } else lr = cosine(epoch - global.warmupEpochs, batch, global.baseLr, global.numEpochs);
  };
  const out: Array<{ lr: number; sample: boolean }> = [];
  for (let e = 0; e < epochs; e++) {
    epoch += 1;
    let end = 0;
    const index = stages.findIndex((stage) => e < (end += stage.epochs));
    if (index !== -1 && index !== stageIndex) {
      if (global === undefined) {
        initLr = stages[index].initLr;
        epochsLr = stages[index].epochsLr;
        epoch = 0;
        lrStep(0);
      }
      rate = stages[index].sampleRate;
      stageIndex = index;
    }
    for (let k = 0; k < N; k++) {
      const sample = ((step % rate) + rate) % rate === 0;
      lrStep();
      out.push({ lr, sample });
    }
  }
  return out;
}
