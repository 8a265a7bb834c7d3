import { randomBytes } from 'node:crypto';

const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let offset = 0;

/**
 * Cryptographically secure random bytes for the hot paths (a web secret, an IV per registration),
 * taken from a pool refilled 4 KiB at a time, as Node does for `randomUUID`: one call into the
 * CSPRNG serves a hundred registrations. Each caller gets its own copy, and the pool's used bytes
 * are zeroed so they never sit in memory after being handed out.
 */
export function secureRandomBytes(n: number): Buffer {
  if (n > 256) return randomBytes(n);
  if (offset + n > pool.length) {
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
  const out = Buffer.from(pool.subarray(offset, offset + n));
  pool.fill(0, offset, offset + n);
  offset += n;
  return out;
}
