import { createHash } from 'crypto';

/** A short SHA-256 of JSON-serialisable values or raw bytes, to tell one run's inputs from another's. */
export function fingerprint(...parts: Array<unknown>): string {
  const hash = createHash('sha256');
  for (const part of parts) {
    if (part instanceof Uint8Array || part instanceof Float32Array || part instanceof Int32Array) {
      hash.update(new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
    } else {
      hash.update(JSON.stringify(part) ?? 'undefined');
    }
    hash.update('\u0000');
  }
  return hash.digest('hex').slice(0, 16);
}
