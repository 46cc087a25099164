/**
 * Lets signal handlers, sockets and timers run between two steps of a long synchronous loop
 * (a training micro-step, an evaluation batch): a stop request or a live client is served
 * within one step, not after the loop.
 */
export const yieldToEventLoop = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));
