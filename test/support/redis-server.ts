import { redisServerMissing } from '../../tools/local-redis';
import { describeUnless } from './describe-unless';

/**
 * `describe` when redis-server is installed, else a skipped block that says why; on CI a missing
 * server is an error, not a skip (.ci/run installs it).
 */
export function describeWithRedis(name: string, body: () => void): void {
  const missing = redisServerMissing();
  if (missing !== undefined && process.env.CI) throw new Error(`${missing}: .ci/run installs it`);
  describeUnless(missing, name, body);
}
