import { redisServerMissing } from '../../tools/local-redis';

/**
 * `describe` when redis-server is installed, else a skipped block that says why; on CI a missing
 * server is an error, not a skip (.ci/run installs it).
 */
export function describeWithRedis(name: string, body: () => void): void {
  const missing = redisServerMissing();
  if (missing === undefined) describe(name, body);
  else if (process.env.CI) throw new Error(`${missing}: .ci/run installs it`);
  else describe.skip(`${name} (skipped: ${missing})`, body);
}
