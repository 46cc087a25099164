import { createHash } from 'crypto';
import type { Redis } from 'ioredis';

/** Redis strings hold at most 512 MB: blobs go in chunks well below it. */
const CHUNK_BYTES = 64 * 1024 * 1024;
/** Blobs are kept a week after the last search that stored them (a resumed search refreshes them). */
export const BLOB_TTL_SECONDS = 7 * 24 * 3600;

export const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');
const metaKey = (hash: string) => `lonas:blob:${hash}`;
const chunkKey = (hash: string, i: number) => `lonas:blob:${hash}:${i}`;

/**
 * Stores `bytes` under their SHA-256 (once: an identical blob is only kept longer) and returns
 * the hash. The chunks are written before the entry that lists them, so a reader never sees a
 * partial blob.
 */
export async function putBlob(redis: Redis, blob: Uint8Array): Promise<string> {
  const bytes = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const hash = sha256(bytes);
  const chunks = Math.max(1, Math.ceil(bytes.length / CHUNK_BYTES));
  const present = await redis.get(metaKey(hash));
  const write = redis.multi();
  for (let i = 0; i < chunks; i++) {
    const key = chunkKey(hash, i);
    if (present === null)
      write.set(key, bytes.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES), 'EX', BLOB_TTL_SECONDS);
    else write.expire(key, BLOB_TTL_SECONDS);
  }
  write.set(metaKey(hash), String(chunks), 'EX', BLOB_TTL_SECONDS);
  await write.exec();
  return hash;
}

/** Whether the blob `hash` is stored whole. */
export async function hasBlob(redis: Redis, hash: string): Promise<boolean> {
  const chunks = await redis.get(metaKey(hash));
  if (chunks === null) return false;
  const keys = Array.from({ length: Number(chunks) }, (_, i) => chunkKey(hash, i));
  return (await redis.exists(...keys)) === keys.length;
}

/** The blob `hash`, checked against its hash; `what` names it in errors. */
export async function getBlob(redis: Redis, hash: string, what: string): Promise<Buffer> {
  const chunks = Number(await redis.get(metaKey(hash)));
  if (!(chunks > 0)) throw new Error(`${what} (blob ${hash.slice(0, 12)}) is not in Redis`);
  const parts = await Promise.all(Array.from({ length: chunks }, (_, i) => redis.getBuffer(chunkKey(hash, i))));
  if (parts.some((part) => part === null))
    throw new Error(`${what} (blob ${hash.slice(0, 12)}) is incomplete in Redis`);
  const bytes = Buffer.concat(parts as Buffer[]);
  if (sha256(bytes) !== hash) throw new Error(`${what} (blob ${hash.slice(0, 12)}) does not match its hash`);
  return bytes;
}
