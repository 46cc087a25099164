import * as fs from 'fs';
import * as path from 'path';
import type { Observable, Subscription } from 'rxjs';
import type { LonasEvent } from '../events';

/** Appends every event to `<folder>/events.jsonl` as the run goes (one JSON object a line). */
export function recordEvents(events: Observable<LonasEvent>, folder: string): Subscription {
  fs.mkdirSync(folder, { recursive: true });
  const file = path.join(folder, 'events.jsonl');
  return events.subscribe((event) => fs.appendFileSync(file, `${JSON.stringify(event)}\n`));
}

/** Reads a recorded run back; a line that is not JSON names the file and line. */
export function readEvents(folder: string): LonasEvent[] {
  const file = path.join(folder, 'events.jsonl');
  if (!fs.existsSync(file)) throw new Error(`${file}: no recorded events (runs record them as they go)`);
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line, i) => {
      if (line.trim() === '') return [];
      try {
        return [JSON.parse(line) as LonasEvent];
      } catch {
        throw new Error(`${file}:${i + 1}: not a JSON event`);
      }
    });
}
