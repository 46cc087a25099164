import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { removeLeftovers } from '../../src/io/leftovers';

describe('leftovers of a killed run', () => {
  it('removes half-written checkpoints and temporary files of dead processes, and keeps live ones', () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'lonas-leftovers-'));
    // A process that has exited: its pid names nothing running.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    const live = String(process.ppid);
    const make = (relative: string, directory = false) => {
      const full = path.join(folder, relative);
      fs.mkdirSync(directory ? full : path.dirname(full), { recursive: true });
      if (!directory) fs.writeFileSync(full, 'x');
      return full;
    };
    const gone = [
      make(`checkpoint-3.partial-${dead}`, true),
      make(`events.jsonl.${dead}.tmp`),
      make(`checkpoint-2/adapter/adapter_model.safetensors.${dead}.tmp`),
    ];
    const kept = [
      make(`checkpoint-4.partial-${live}`, true),
      make(`cache_top1_acc.csv.${live}.tmp`),
      make('checkpoint-2/adapter/adapter_model.safetensors'),
      make('search_progression.csv'),
    ];
    expect(removeLeftovers(folder).sort()).toEqual(gone.sort());
    for (const file of gone) expect(fs.existsSync(file)).toBe(false);
    for (const file of kept) expect(fs.existsSync(file)).toBe(true);
    fs.rmSync(folder, { recursive: true, force: true });
  });
});
