import { QueueError, redactRedisUrl, redisTarget } from '../../src/distributed/redis-url';
import { decodeJobData, evalJobId } from '../../src/distributed/eval-job';

describe('Redis URLs', () => {
  it('reads host, port, database, password and TLS, and never shows the password', () => {
    const plain = redisTarget('redis://10.0.0.5', '--redis', {});
    expect(plain.options).toEqual({ host: '10.0.0.5', port: 6379, db: 0 });
    expect(plain.display).toBe('redis://10.0.0.5');

    const secret = redisTarget('rediss://:s3cr%40t@cache.example:6380/2', '--redis', {});
    expect(secret.options).toEqual({
      host: 'cache.example',
      port: 6380,
      db: 2,
      password: 's3cr@t',
      tls: { servername: 'cache.example' },
    });
    expect(secret.display).toBe('rediss://:***@cache.example:6380/2');
    expect(secret.scrub('ERR auth s3cr@t failed')).toBe('ERR auth *** failed');

    const user = redisTarget('redis://alice:pw@h:1', '--redis', {});
    expect(user.options).toMatchObject({ username: 'alice', password: 'pw' });
    expect(user.display).toBe('redis://alice:***@h:1');
  });

  it('takes the password from LONAS_REDIS_PASSWORD when the URL has none', () => {
    const target = redisTarget('redis://h:7000', '--eval_queue', { LONAS_REDIS_PASSWORD: 'from-env' });
    expect(target.options.password).toBe('from-env');
    expect(target.display).toBe('redis://:***@h:7000');
    expect(target.scrub('from-env')).toBe('***');
  });

  it('refuses what is not a Redis URL, naming the field, without echoing a password', () => {
    const refused = (url: string) => {
      try {
        redisTarget(url, 'evalQueue (--eval_queue)', {});
      } catch (error) {
        expect(error).toBeInstanceOf(QueueError);
        return (error as Error).message;
      }
      throw new Error(`accepted ${url}`);
    };
    expect(refused('http://:pw@host:1')).toBe(
      "evalQueue (--eval_queue): 'http://:***@host:1' is not a Redis URL (expected redis://[:password@]host[:port][/db] or rediss://... for TLS)",
    );
    expect(refused('localhost:6379')).toContain('is not a Redis URL');
    expect(refused('redis://:topsecret@h/x')).toBe(
      "evalQueue (--eval_queue): database 'x' in 'redis://:***@h/x' is not a number >= 0",
    );
    expect(refused('not a url :pw@')).not.toContain('topsecret');
    expect(redactRedisUrl('redis://u:p@h')).toBe('redis://u:***@h');
  });
});

describe('evaluation jobs', () => {
  const setup = 'ab'.repeat(32);

  it('one job id per setup and genes', () => {
    expect(evalJobId(setup, '(1, 0, 12)')).toBe(`${setup.slice(0, 16)}.1-0-12`);
    expect(evalJobId(setup, '(1, 0, 12)')).not.toBe(evalJobId(setup, '(10, 12)'));
  });

  it('decodes a job, or names the job and each bad field', () => {
    expect(decodeJobData({ setup, key: '(1)', subnet: { 0: 8, 1: 4 } }, 'j1')).toEqual({
      setup,
      key: '(1)',
      subnet: { 0: 8, 1: 4 },
    });
    expect(() => decodeJobData({ setup: 'x', key: 3, subnet: { a: -1 } }, 'j2')).toThrow(/^job j2: /);
    expect(() => decodeJobData(null, 'j3')).toThrow(/job j3/);
  });
});
