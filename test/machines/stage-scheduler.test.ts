import { createActor } from 'xstate';
import { stageSchedulerMachine, type StageSchedulerContext } from '../../machines/stage-scheduler';
import { decodeNncfConfig, globalScheduleOf } from '../../src/nas/nncf-config';
import { stagesFrom, stageLearningRate } from '../../src/train/schedule';

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

  it('follows a global cosine over the whole run when the config asks for one', () => {
    const actor = createActor(
      stageSchedulerMachine(stages, { stepsPerEpoch: 2, globalSchedule: { baseLr: 1e-2, totalEpochs: 3 } }),
    ).start();
    actor.send({ type: 'MICRO_STEP' });
    expect(context(actor).lr).toBeCloseTo(0.5e-2 * (1 + Math.cos(Math.PI / 6)), 12);
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
  const config = (lrSchedule: unknown) =>
    decodeNncfConfig({ bootstrapNAS: { training: { lr_schedule: lrSchedule } } }, 'cfg.json');

  it('is read when given, absent otherwise', () => {
    expect(globalScheduleOf(config({ type: 'cosine', params: { base_lr: 3.4e-4 } }), 'cfg.json')).toEqual({
      baseLr: 3.4e-4,
    });
    expect(globalScheduleOf(decodeNncfConfig({ bootstrapNAS: {} }, 'cfg.json'), 'cfg.json')).toBeUndefined();
  });

  it('refuses a schedule lonas does not run', () => {
    expect(() => globalScheduleOf(config({ type: 'multistep', params: { base_lr: 1 } }), 'cfg.json')).toThrow(
      'cfg.json: lr_schedule must be {"type": "cosine", "params": {"base_lr": <positive>}}',
    );
  });
});
