/**
 * Awaits `value` until it settles or `signal` aborts (rejecting with the signal's reason). While it
 * waits, a timer keeps the process alive: a promise that is never settled holds no handle of its
 * own, and Node would otherwise exit as if the run had finished.
 */
export function settleOrAbort<T>(value: T | PromiseLike<T>, signal?: AbortSignal): Promise<T> {
  signal?.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const keepAlive = setInterval(() => {}, 60_000);
    const onAbort = () => finish(() => reject(signal?.reason));
    const finish = (settle: () => void) => {
      clearInterval(keepAlive);
      signal?.removeEventListener('abort', onAbort);
      settle();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    Promise.resolve(value).then(
      (settled) => finish(() => resolve(settled)),
      (error: unknown) => finish(() => reject(error)),
    );
  });
}
