import { createHash } from 'node:crypto';
import { mkdirSync, realpathSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';

/**
 * One process per PGlite folder. Two PGlite instances on the same files corrupt them (each keeps
 * its own buffers), so the folder is locked by a listening Unix socket: binding is atomic, and the
 * kernel closes it when the process ends, however it ends (SIGKILL, a crash, a power cut of the
 * container), so the lock cannot outlive its process. On Linux the socket is in the abstract
 * namespace (no file at all: nothing stale is ever left); elsewhere it is the file `.lock` in the
 * folder, and a file nobody listens on is stale and taken over. Node has no flock(2); a lock file
 * with a PID would outlive a killed process or trust a recycled PID.
 */
export type FolderLock =
  | { held: true; release: () => Promise<void> }
  | { held: false; ownerPid: number | null };

function lockAddress(dir: string): string {
  const real = realpathSync(dir);
  if (process.platform === 'linux') return `\0dibao-pglite-${createHash('sha256').update(real).digest('hex').slice(0, 32)}`;
  return join(real, '.lock');
}

/** Asks the lock's owner for its PID (it writes it and hangs up); null if nobody answers. */
function askOwner(address: string): Promise<number | null> {
  return new Promise((done) => {
    const socket = connect(address);
    let text = '';
    const timer = setTimeout(() => socket.destroy(), 2000);
    socket.on('data', (d) => (text += d));
    socket.on('error', () => done(null));
    socket.on('close', () => {
      clearTimeout(timer);
      done(/^\d+$/.test(text.trim()) ? Number(text.trim()) : null);
    });
  });
}

function listen(address: string): Promise<Server | 'in-use'> {
  return new Promise((done, fail) => {
    const server = createServer((socket) => socket.end(`${process.pid}\n`));
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? done('in-use') : fail(err)));
    server.listen(address, () => done(server));
    server.unref();
  });
}

/** Takes the folder's lock, or says which process holds it. */
export async function lockFolder(folder: string): Promise<FolderLock> {
  const dir = resolve(folder);
  mkdirSync(dir, { recursive: true });
  const address = lockAddress(dir);
  for (let attempt = 0; attempt < 2; attempt++) {
    const server = await listen(address);
    if (server !== 'in-use') {
      return {
        held: true,
        release: () =>
          new Promise<void>((ok) => {
            server.close(() => ok());
            if (!address.startsWith('\0')) rmSync(address, { force: true });
          }),
      };
    }
    const ownerPid = await askOwner(address);
    if (ownerPid !== null || address.startsWith('\0')) return { held: false, ownerPid };
    // A socket file nobody listens on: its process ended without removing it.
    rmSync(address, { force: true });
  }
  return { held: false, ownerPid: await askOwner(address) };
}
