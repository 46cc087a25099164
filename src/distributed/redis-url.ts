/** A Redis URL that is not one, or a Redis that cannot be reached or refuses us. */
export class QueueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueueError';
  }
}

/** What ioredis (and BullMQ) connect with. */
export interface RedisConnectionOptions {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls?: { servername: string };
}

/** Where a Redis is, as ioredis connects to it and as lonas may print it. */
export interface RedisTarget {
  /** The URL with any password replaced by `***`: the only form that reaches logs, events and errors. */
  display: string;
  options: RedisConnectionOptions;
  /** `text` with the password (should a server or library ever echo it) replaced by `***`. */
  scrub(text: string): string;
}

/** The password environment variable, for URLs that should not carry one (command lines are visible in `ps`). */
export const REDIS_PASSWORD_ENV = 'LONAS_REDIS_PASSWORD';

/** `url` with the part between `://` and `@` hidden, for a string that may not even parse. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/)([^@/]*)@/i, (_, scheme: string, auth: string) => {
    const user = auth.includes(':') ? auth.slice(0, auth.indexOf(':')) : '';
    return `${scheme}${user}:***@`;
  });
}

/**
 * Reads `redis://[[user]:password@]host[:port][/db]` or `rediss://...` (TLS, the server's
 * certificate checked against the system's CAs and NODE_EXTRA_CA_CERTS). Without a password in the
 * URL, LONAS_REDIS_PASSWORD is used when set. `field` names the flag or config field in errors.
 */
export function redisTarget(
  url: string,
  field: string,
  env: Record<string, string | undefined> = process.env,
): RedisTarget {
  const expected = 'expected redis://[:password@]host[:port][/db] or rediss://... for TLS';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new QueueError(`${field}: '${redactRedisUrl(url)}' is not a URL (${expected})`);
  }
  const tls = parsed.protocol === 'rediss:';
  if (!tls && parsed.protocol !== 'redis:') {
    throw new QueueError(`${field}: '${redactRedisUrl(url)}' is not a Redis URL (${expected})`);
  }
  if (parsed.hostname === '') throw new QueueError(`${field}: '${redactRedisUrl(url)}' names no host (${expected})`);
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  const dbText = parsed.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) {
    throw new QueueError(`${field}: database '${dbText}' in '${redactRedisUrl(url)}' is not a number >= 0`);
  }
  const password = parsed.password !== '' ? decodeURIComponent(parsed.password) : env[REDIS_PASSWORD_ENV];
  const username = parsed.username !== '' ? decodeURIComponent(parsed.username) : undefined;
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const auth = password === undefined ? (username === undefined ? '' : `${username}@`) : `${username ?? ''}:***@`;
  return {
    display: `${parsed.protocol}//${auth}${parsed.host}${db === 0 ? '' : `/${db}`}`,
    options: {
      host,
      port,
      db,
      ...(password === undefined ? {} : { password }),
      ...(username === undefined ? {} : { username }),
      ...(tls ? { tls: { servername: host } } : {}),
    },
    scrub: (text) => (password === undefined || password === '' ? text : text.split(password).join('***')),
  };
}
