import type { ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { QueueError, type RedisTarget } from './redis-url';
import { errorMessage } from '../util/error-message';

/** Milliseconds before the n-th reconnection attempt: soon at first, every 2 s at most. */
const reconnectDelay = (times: number) => Math.min(times * 200, 2000);

/**
 * A client that reconnects for as long as it lives (a restarted Redis is picked up again);
 * commands wait while Redis is away, so callers bound their waits themselves. Its connection
 * errors are not reported here: the pool and the worker report outages themselves.
 */
export function redisClient(target: RedisTarget, name: string): Redis {
  const client = new Redis({
    ...target.options,
    connectionName: name,
    maxRetriesPerRequest: null,
    retryStrategy: reconnectDelay,
  });
  client.on('error', () => {});
  return client;
}

/** Connection options for BullMQ's queues, workers and queue events: they reconnect as redisClient's do. */
export function bullConnection(target: RedisTarget): ConnectionOptions {
  return {
    ...target.options,
    maxRetriesPerRequest: null,
    retryStrategy: reconnectDelay,
  };
}

/** Settles as `promise`, or rejects with `what` after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Connects once and pings, within `timeoutMs`: a Redis that is down, or refuses the password, is an error in seconds. */
export async function probeRedis(target: RedisTarget, timeoutMs = 5000): Promise<void> {
  const client = new Redis({
    ...target.options,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // The connection's own error (ECONNREFUSED, a TLS failure) says more than the command's "Connection is closed".
  let cause: Error | undefined;
  client.on('error', (error) => (cause ??= error));
  try {
    await withTimeout(client.connect(), timeoutMs, 'connecting');
    await withTimeout(client.ping(), timeoutMs, 'PING');
  } catch (error) {
    throw new QueueError(target.scrub(`cannot reach Redis at ${target.display}: ${errorMessage(cause ?? error)}`));
  } finally {
    client.disconnect();
  }
}
