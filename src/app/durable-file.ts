import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Writes `bytes` as `dir/name` so that a crash leaves the whole file or none: a temporary file in
 * the same folder (`.tmp-<tag>-<random>`, mode 0600) is flushed, renamed into place and the folder
 * flushed after. A stray temporary file is the worst a crash leaves. The folder must exist.
 */
export async function writeFileDurably(dir: string, name: string, bytes: Uint8Array, tag: string): Promise<void> {
  const tmp = join(dir, `.tmp-${tag}-${randomBytes(8).toString('hex')}`);
  const handle = await open(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
  try {
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, join(dir, name));
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncDir(dir);
}

/** Make the rename durable. Not supported on every platform/filesystem, hence best effort. */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // e.g. EISDIR/EPERM on Windows: the rename is still atomic, only not yet durable
  }
}
