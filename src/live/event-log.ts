import * as fs from 'fs';
import * as path from 'path';
import type { Observable, Subscription } from 'rxjs';
import type { LonasEvent } from '../events';
import { isEvent } from './protocol';

/** Appends every event to `<folder>/events.jsonl` as the run goes (one JSON object a line). */
export function recordEvents(events: Observable<LonasEvent>, folder: string): Subscription {
  fs.mkdirSync(folder, { recursive: true });
  const file = path.join(folder, 'events.jsonl');
  return events.subscribe((event) => fs.appendFileSync(file, `${JSON.stringify(event)}\n`));
}

/** A recorded run read back: its events, and the lines that were not events (skipped). */
export interface RecordedEvents {
  events: LonasEvent[];
  /** How many non-empty lines were not JSON events (a torn last line, `null`, an unknown type). */
  skipped: number;
  /** The first skipped line's number and why (for a warning). */
  firstSkipped?: { line: number; reason: string };
}

/**
 * Reads a recorded run back. A line that is not a JSON event (a crash can leave a torn last line)
 * is skipped and counted rather than failing the whole run.
 */
export function readEvents(folder: string): RecordedEvents {
  const file = path.join(folder, 'events.jsonl');
  if (!fs.existsSync(file)) throw new Error(`${file}: no recorded events (runs record them as they go)`);
  const recorded: RecordedEvents = { events: [], skipped: 0 };
  fs.readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      let value: unknown;
      let reason: string | undefined;
      try {
        value = JSON.parse(line);
        if (!isEvent(value)) reason = 'not an event of a known type';
      } catch {
        reason = 'not JSON';
      }
      if (reason === undefined) {
        recorded.events.push(value as LonasEvent);
        return;
      }
      recorded.skipped += 1;
      recorded.firstSkipped ??= { line: i + 1, reason };
    });
  return recorded;
}
