import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { formatHolder, thisProcess, type LockHolder } from '../../src/io/lock-holder';
import { LockHeldError, takeLockFile, type TakeoverStep } from '../../src/io/lock-file';
import { lockOutputDir } from '../../src/io/output-dir';
import { processStartTicks } from '../../src/util/process-running';

/** A process that has exited: its pid names nothing running. */
const deadPid = () =>
  Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());

/** The lock a live process (here: jest's parent, which outlives the test) would have written. */
const liveHolder = (nonce: string): LockHolder => ({
  pid: process.ppid,
  startTicks: processStartTicks(process.ppid),
  started: '2024-05-01T10:00:00.000Z',
  host: os.hostname(),
  nonce,
});

const onLinux = processStartTicks(process.pid) !== undefined;

describe('the output-folder lock', () => {
  let folder: string;
  let file: string;
  beforeEach(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'lonas-lock-'));
    file = path.join(folder, 'lonas.lock');
  });
  afterEach(() => fs.rmSync(folder, { recursive: true, force: true }));
  const lockText = () => fs.readFileSync(file, 'utf8');

  it("names this process's pid, start time and host, and is released only while it is still ours", () => {
    const release = lockOutputDir(folder);
    const written = JSON.parse(lockText());
    expect(written).toMatchObject({ pid: process.pid, host: os.hostname() });
    expect(written.startTicks).toBe(processStartTicks(process.pid));
    expect(Math.abs(Date.parse(written.started) - (Date.now() - process.uptime() * 1000))).toBeLessThan(1000);
    release();
    expect(fs.existsSync(file)).toBe(false);

    const releaseAgain = lockOutputDir(folder);
    // Another run took the folder over (as it would from a run it found dead): the release keeps its lock.
    const other = formatHolder(liveHolder('other'));
    fs.writeFileSync(file, other);
    releaseAgain();
    expect(lockText()).toBe(other);
  });

  it('refuses a lock of a live lonas run, naming lonas.lock, the pid and when it started', () => {
    fs.writeFileSync(file, formatHolder(liveHolder('live')));
    expect(() => lockOutputDir(folder)).toThrow(
      `${folder} is in use by another lonas run (${file}: pid ${process.ppid}, started 2024-05-01T10:00:00.000Z)`,
    );
    // A second lonas run in this very process is refused too.
    fs.rmSync(file);
    const held = lockOutputDir(folder);
    expect(() => lockOutputDir(folder)).toThrow(`(${file}: pid ${process.pid}, started `);
    held();
  });

  (onLinux ? it : it.skip)('takes over a lock naming a live pid that started at another time (pid reuse)', () => {
    const reused = { ...liveHolder('reused'), startTicks: (processStartTicks(process.ppid) as number) - 1 };
    fs.writeFileSync(file, formatHolder(reused));
    const release = lockOutputDir(folder);
    expect(JSON.parse(lockText()).pid).toBe(process.pid);
    release();
  });

  it('understands the bare pid line of earlier versions', () => {
    fs.writeFileSync(file, `${process.ppid}\n`);
    expect(() => lockOutputDir(folder)).toThrow(`(${file}: pid ${process.ppid}, start time not recorded)`);
    for (const stale of [deadPid(), process.pid]) {
      // A dead pid, or this process's own (which never wrote such a line: a process before it had the pid).
      fs.writeFileSync(file, `${stale}\n`);
      const release = lockOutputDir(folder);
      expect(JSON.parse(lockText()).pid).toBe(process.pid);
      release();
    }
  });

  it('refuses a lock of another host (its process cannot be checked) and one that is not a lock, naming the file', () => {
    fs.writeFileSync(file, formatHolder({ pid: deadPid(), started: '2024-05-01T10:00:00.000Z', host: 'elsewhere' }));
    expect(() => lockOutputDir(folder)).toThrow(`started 2024-05-01T10:00:00.000Z, on host elsewhere)`);
    for (const text of ['', 'garbage\n', '{"pid": "12"}\n', '{"pid": 12, "startTicks": "5"}\n']) {
      fs.writeFileSync(file, text);
      expect(() => lockOutputDir(folder)).toThrow(`${file} is not a lonas lock (expected a pid line or {"pid": ...`);
    }
  });

  /** A stale lock, and a taker in whose `step` a rival takes it too: who ends up holding it. */
  const race = (step: TakeoverStep) => {
    fs.writeFileSync(file, formatHolder({ pid: deadPid(), host: os.hostname(), nonce: 'dead' }));
    const taker = thisProcess();
    const rival = liveHolder('rival');
    const outcome = (take: () => void) => {
      try {
        take();
        return 'holds';
      } catch (error) {
        if (!(error instanceof LockHeldError)) throw error;
        return `refused: held by ${error.holder.pid}`;
      }
    };
    let rivalOutcome = 'did not run';
    let raced = false;
    const takerOutcome = outcome(() =>
      takeLockFile(file, taker, (at) => {
        if (at !== step || raced) return;
        raced = true;
        rivalOutcome = outcome(() => takeLockFile(file, rival));
      }),
    );
    return { takerOutcome, rivalOutcome, holder: JSON.parse(lockText()).pid, files: fs.readdirSync(folder) };
  };

  it.each<[TakeoverStep, 'taker' | 'rival']>([
    ['found-stale', 'rival'],
    ['claimed', 'taker'],
    ['replaced', 'taker'],
  ])('lets one of two takers of a stale lock have it when the other takes it at %s', (step, winner) => {
    const result = race(step);
    const winning = winner === 'taker' ? process.pid : process.ppid;
    expect(result.holder).toBe(winning);
    expect(winner === 'taker' ? result.takerOutcome : result.rivalOutcome).toBe('holds');
    expect(winner === 'taker' ? result.rivalOutcome : result.takerOutcome).toBe(`refused: held by ${winning}`);
    // No takeover claim or temporary file is left behind.
    expect(result.files).toEqual(['lonas.lock']);
  });

  it('takes over a lock whose taker was killed in the middle of taking it over', () => {
    fs.writeFileSync(file, `${deadPid()}\n`);
    const dist = path.join(__dirname, '..', '..', 'dist', 'src', 'io');
    const killedMidway = `
      const { takeLockFile } = require(${JSON.stringify(path.join(dist, 'lock-file.js'))});
      const { thisProcess } = require(${JSON.stringify(path.join(dist, 'lock-holder.js'))});
      takeLockFile(${JSON.stringify(file)}, thisProcess(), (step) => step === 'claimed' && process.kill(process.pid, 'SIGKILL'));`;
    expect(spawnSync(process.execPath, ['-e', killedMidway]).signal).toBe('SIGKILL');
    // It left its claim: the stale lock is still there, and so is the claim of a dead process.
    expect(fs.readdirSync(folder).filter((name) => name.startsWith('lonas.lock.takeover-'))).toHaveLength(1);
    const release = lockOutputDir(folder);
    expect(JSON.parse(lockText()).pid).toBe(process.pid);
    release();
    expect(fs.readdirSync(folder)).toEqual([]);
  });
});
