/** The window over which failed token attempts are counted. */
const FAILURE_WINDOW_MS = 60_000;

/** Failed token attempts of the last minute (their times), for one remote address or all of them. */
export class FailureCount {
  private times: number[] = [];

  /** Whether `limit` failures came within the minute before `now`: further ones are refused uncounted. */
  full(now: number, limit: number): boolean {
    this.times = this.times.filter((t) => now - t < FAILURE_WINDOW_MS);
    return this.times.length >= limit;
  }

  add(now: number): void {
    this.times.push(now);
  }
}
