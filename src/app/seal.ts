import { createCipheriv, createDecipheriv, type KeyObject } from 'node:crypto';
import { secureRandomBytes } from './random.ts';

/**
 * AES-256-GCM sealing for data that must be encrypted at rest (the reporter's identity).
 * Layout: version(1) | iv(12) | tag(16) | ciphertext. `aad` binds the box to its row.
 */
export function seal(key: KeyObject | Buffer, plaintext: string, aad: string, iv?: Buffer): Buffer {
  return sealBytes(key, Buffer.from(plaintext, 'utf8'), aad, iv);
}

export function unseal(key: KeyObject | Buffer, box: Buffer, aad: string): string {
  return unsealBytes(key, box, aad).toString('utf8');
}

/**
 * The same sealing for bytes (a whole raw email in quarantine). `iv` is for the reproducible
 * benchmark data set only (bench/data: a key of its own, an IV derived from the row id, so never
 * twice under one key); the app never passes one and always gets a fresh random IV.
 */
export function sealBytes(key: KeyObject | Buffer, plaintext: Uint8Array, aad: string, iv: Buffer = secureRandomBytes(12)): Buffer {
  if (iv.length !== 12) throw new Error('AES-GCM IV must be 12 bytes');
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([1]), iv, cipher.getAuthTag(), body]);
}

export function unsealBytes(key: KeyObject | Buffer, box: Uint8Array, aad: string): Buffer {
  const b = Buffer.from(box);
  if (b[0] !== 1) throw new Error('unknown sealed box version');
  const decipher = createDecipheriv('aes-256-gcm', key, b.subarray(1, 13));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(b.subarray(13, 29));
  return Buffer.concat([decipher.update(b.subarray(29)), decipher.final()]);
}
