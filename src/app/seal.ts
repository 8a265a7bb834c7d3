import { createCipheriv, createDecipheriv, type KeyObject, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM sealing for data that must be encrypted at rest (the reporter's identity).
 * Layout: version(1) | iv(12) | tag(16) | ciphertext. `aad` binds the box to its row.
 */
export function seal(key: KeyObject | Buffer, plaintext: string, aad: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.from([1]), iv, cipher.getAuthTag(), body]);
}

export function unseal(key: KeyObject | Buffer, box: Buffer, aad: string): string {
  if (box[0] !== 1) throw new Error('unknown sealed box version');
  const decipher = createDecipheriv('aes-256-gcm', key, box.subarray(1, 13));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(box.subarray(13, 29));
  return Buffer.concat([decipher.update(box.subarray(29)), decipher.final()]).toString('utf8');
}
