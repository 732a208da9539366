/**
 * Unix socket housekeeping for the CSI endpoint. The kubelet and the
 * sidecars find the driver by path, so a crashed predecessor's socket file
 * must be replaced, but a socket another live driver serves must never be
 * stolen, and a regular file at that path is someone else's data.
 */
import { connect } from 'node:net';
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, normalize } from 'node:path';

/** unix:///abs/path, unix:/abs/path or /abs/path → /abs/path; anything else throws with the accepted forms. */
export function parseEndpoint(endpoint: string): string {
  let path: string | undefined;
  if (endpoint.startsWith('unix://')) path = endpoint.slice('unix://'.length);
  else if (endpoint.startsWith('unix:')) path = endpoint.slice('unix:'.length);
  else if (endpoint.startsWith('/')) path = endpoint;
  if (path === undefined || !isAbsolute(path) || path.includes('\0')) {
    throw new Error(
      `unsupported CSI endpoint '${endpoint}': use unix:///absolute/path.sock (also accepted: unix:/absolute/path.sock or /absolute/path.sock)`,
    );
  }
  return normalize(path);
}

/** Resolves true when something accepts connections on the socket. */
function socketIsLive(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    const timer = setTimeout(() => {
      sock.destroy();
      // A listener that never accepts is still a listener: treat as live.
      resolve(true);
    }, 2000);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(true);
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') resolve(false);
      else reject(new Error(`cannot probe existing socket ${path}: ${err.code ?? err.message}`));
    });
  });
}

/** Creates the parent (0750) and clears a stale socket; refuses live sockets and non-socket files. */
export async function prepareSocketPath(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o750 });
  const stat = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!stat) return;
  if (!stat.isSocket()) {
    throw new Error(`${path} exists and is not a socket; refusing to delete it: remove it or choose another --endpoint`);
  }
  if (await socketIsLive(path)) {
    throw new Error(`${path} is served by another running process; stop it first or choose another --endpoint`);
  }
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/** 0660: the kubelet and sidecars run as root or in the socket's group; nobody else may talk to the driver. */
export async function secureSocket(path: string): Promise<void> {
  await chmod(path, 0o660);
}

/** Removes our socket on shutdown, but only if it still is a socket. */
export async function removeSocket(path: string): Promise<void> {
  const stat = await lstat(path).catch(() => undefined);
  if (stat?.isSocket()) await unlink(path).catch(() => undefined);
}
