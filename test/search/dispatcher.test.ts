import { from, lastValueFrom, Subject, take, toArray } from 'rxjs';
import { dispatchingPool, type Outcomes, type Transport } from '../../actors/evaluators/dispatcher';
import type { Candidate } from '../../actors/evaluators/evaluator-pool';

/** A transport the test drives by hand: it records what it is sent and reports what the test says. */
function manualTransport() {
  const submitted: string[] = [];
  const sessions: Array<{ outcomes: Outcomes; ended: boolean }> = [];
  let closes = 0;
  const transport: Transport = {
    name: 'manual pool',
    size: 3,
    open: (outcomes) => {
      const session = { outcomes, ended: false };
      sessions.push(session);
      return {
        submit: (candidate) => submitted.push(candidate.key),
        end: () => (session.ended = true),
      };
    },
    close: async () => {
      closes += 1;
    },
  };
  const score = (key: string, session = sessions.at(-1)) =>
    session?.outcomes.scored({ key, subnet: {}, accuracy: key.length, evaluator: 'manual' });
  return { transport, submitted, sessions, score, closes: () => closes };
}

const candidate = (key: string): Candidate => ({ key, subnet: {} });

describe('the dispatching pool', () => {
  it('hands each candidate to the transport as it comes, emits results as they finish, and completes once all are in', async () => {
    const { transport, submitted, sessions, score } = manualTransport();
    const pool = dispatchingPool(transport);
    expect(pool.size).toBe(3);
    const input = new Subject<Candidate>();
    const results = lastValueFrom(pool.evaluate(input).pipe(toArray()));
    input.next(candidate('a'));
    input.next(candidate('bb'));
    expect(submitted).toEqual(['a', 'bb']);
    score('bb');
    input.complete();
    expect(sessions[0].ended).toBe(false);
    score('a');
    expect((await results).map((r) => [r.key, r.accuracy])).toEqual([
      ['bb', 2],
      ['a', 1],
    ]);
    expect(sessions[0].ended).toBe(true);
  });

  it('errors with the first failure, ends the session, and ignores what comes after', async () => {
    const { transport, submitted, sessions, score } = manualTransport();
    const input = new Subject<Candidate>();
    const results: string[] = [];
    const done = new Promise<unknown>((resolve) =>
      dispatchingPool(transport)
        .evaluate(input)
        .subscribe({ next: (r) => results.push(r.key), error: resolve, complete: () => resolve('completed') }),
    );
    input.next(candidate('a'));
    input.next(candidate('b'));
    score('a');
    sessions[0].outcomes.failed(new Error('evaluator 2 exited'));
    sessions[0].outcomes.failed(new Error('a later failure'));
    score('b', sessions[0]);
    input.next(candidate('c'));
    expect(await done).toEqual(new Error('evaluator 2 exited'));
    expect(results).toEqual(['a']);
    expect(submitted).toEqual(['a', 'b']);
    expect(sessions[0].ended).toBe(true);
  });

  it("errors with the signal's reason when aborted, before or during an evaluation", async () => {
    const { transport, sessions } = manualTransport();
    const abort = new AbortController();
    const pool = dispatchingPool(transport, abort.signal);
    const running = lastValueFrom(pool.evaluate(new Subject<Candidate>()));
    abort.abort(new Error('asked to stop'));
    await expect(running).rejects.toThrow('asked to stop');
    await expect(lastValueFrom(pool.evaluate(from([candidate('a')])))).rejects.toThrow('asked to stop');
    expect(sessions.map((s) => s.ended)).toEqual([true, true]);
  });

  it('ends the session when the subscriber stops listening', async () => {
    const { transport, sessions, score } = manualTransport();
    const first = lastValueFrom(
      dispatchingPool(transport)
        .evaluate(from([candidate('a'), candidate('b')]))
        .pipe(take(1)),
    );
    score('b');
    expect((await first).key).toBe('b');
    expect(sessions[0].ended).toBe(true);
  });

  it('closes the transport once; an evaluation after that errors, naming the pool', async () => {
    const { transport, sessions, closes } = manualTransport();
    const pool = dispatchingPool(transport);
    await pool.close();
    await pool.close();
    expect(closes()).toBe(1);
    await expect(lastValueFrom(pool.evaluate(from([candidate('a')])))).rejects.toThrow('the manual pool is closed');
    expect(sessions).toHaveLength(0);
  });
});
