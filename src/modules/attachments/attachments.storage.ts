import { createHash } from 'node:crypto';
import { mkdir, readFile, stat, unlink } from 'node:fs/promises';
import { writeFileDurably } from '../../app/durable-file.ts';
import { dirname, relative, resolve, sep } from 'node:path';
import { AttachmentStorageError } from './attachments.errors.ts';

export interface StoredAttachment {
  /** Opaque storage key (for LocalFolderStorage: `ab/cd/<sha256>`, relative to the root). */
  key: string;
  /** Lower-case hex SHA-256 of the stored bytes. */
  sha256: string;
  size: number;
}

export interface AttachmentStorage {
  put(bytes: Uint8Array): Promise<StoredAttachment>;
  /** Throws `AttachmentStorageError` ('invalid_key' | 'not_found' | 'integrity'). */
  get(key: string): Promise<Uint8Array>;
  /** Idempotent: deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
}

const KEY = /^([0-9a-f]{2})\/([0-9a-f]{2})\/([0-9a-f]{64})$/;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Content-addressed files under `root/ab/cd/<sha256>`. Writes go to a temporary file in the target folder which is
 * fsynced and then renamed into place, so a crash leaves either the whole file or none (stray `.tmp-*` files at
 * worst, which no key can name). The same content always maps to the same key, so `put` is idempotent and
 * concurrent puts of the same bytes are harmless (rename replaces atomically with identical content).
 *
 * Because identical uploads share one file, `delete` removes it for every report that references the key:
 * reference counting, if needed, belongs to the caller's database.
 *
 * `get` re-hashes what it reads and refuses content that no longer matches its key (disk corruption, tampering).
 * Files are created 0600 and folders 0700: these are whistleblower evidence.
 */
export class LocalFolderStorage implements AttachmentStorage {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  async put(bytes: Uint8Array): Promise<StoredAttachment> {
    const sha256 = sha256Hex(bytes);
    const key = `${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;
    const path = this.pathFor(key);
    const existing = await stat(path).catch(() => null);
    if (existing?.isFile() && existing.size === bytes.length) {
      // Already stored: keep it, unless it has been damaged, in which case it is rewritten below.
      const current = await readFile(path).catch(() => null);
      if (current && sha256Hex(current) === sha256) return { key, sha256, size: bytes.length };
    }

    const dir = dirname(path);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileDurably(dir, sha256, bytes, sha256.slice(0, 16));
    return { key, sha256, size: bytes.length };
  }

  async get(key: string): Promise<Uint8Array> {
    const path = this.pathFor(key);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new AttachmentStorageError('not_found', `no attachment ${key}`);
      throw err;
    }
    if (sha256Hex(bytes) !== KEY.exec(key)![3]) {
      throw new AttachmentStorageError('integrity', `attachment ${key} does not match its hash`);
    }
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async delete(key: string): Promise<void> {
    const path = this.pathFor(key);
    try {
      await unlink(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  /** Only keys of the exact shape `ab/cd/abcd…` (64 hex) whose folders match the hash are accepted. */
  private pathFor(key: string): string {
    const m = typeof key === 'string' ? KEY.exec(key) : null;
    if (!m || !m[3]!.startsWith(m[1]! + m[2]!)) {
      throw new AttachmentStorageError('invalid_key', 'invalid attachment key');
    }
    const path = resolve(this.root, m[1]!, m[2]!, m[3]!);
    const rel = relative(this.root, path);
    if (rel.startsWith('..') || rel.includes(`..${sep}`) || resolve(this.root, rel) !== path) {
      throw new AttachmentStorageError('invalid_key', 'invalid attachment key'); // belt and braces; the regex already forbids this
    }
    return path;
  }
}
