import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';

/**
 * Staff passwords only (never report secrets): argon2id (OWASP's minimum: 19 MiB, 2 passes, 1 lane),
 * in the standard PHC string `$argon2id$v=19$m=…,t=…,p=…$salt$hash`. Hashes from before (scrypt,
 * `scrypt$N$r$p$salt$hash`) still verify and are replaced at the next successful sign-in.
 * `salt` is for the reproducible benchmark data set only (bench/data); the app always gets a random one.
 */
// algorithm 2 = Argon2id (the package's const enum cannot be imported under verbatimModuleSyntax).
const ARGON2 = { algorithm: 2 as const, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export async function hashPassword(password: string, salt: Buffer = randomBytes(16)): Promise<string> {
  return argon2Hash(password.normalize('NFKC'), { ...ARGON2, salt });
}

function scryptDerive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, 32, { N: n, r, p, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (stored.startsWith('$argon2')) {
    try {
      return await argon2Verify(stored, password.normalize('NFKC'));
    } catch {
      return false;
    }
  }
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const key = await scryptDerive(password, Buffer.from(salt, 'base64'), Number(n), Number(r), Number(p));
  const expected = Buffer.from(hash, 'base64');
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A stored hash that is not argon2id with today's parameters: rehashed at the next sign-in. */
export function needsRehash(stored: string): boolean {
  return !stored.startsWith(`$argon2id$v=19$m=${ARGON2.memoryCost},t=${ARGON2.timeCost},p=${ARGON2.parallelism}$`);
}

/** The scrypt format of earlier releases, for tests of the rehash. */
export async function legacyScryptHash(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptDerive(password, salt, 16384, 8, 1);
  return `scrypt$16384$8$1$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Compared against when the username is unknown, so both cases take the same time. */
export const dummyPasswordHash = await hashPassword(randomBytes(12).toString('hex'));
