/**
 * Unix socket paths the kernel can take whole. `sockaddr_un.sun_path` holds 108 bytes and the
 * runtime keeps one for the terminating NUL; a longer path is cut short (Node 20) or refused
 * with a bare EINVAL (Node 24), and a cut path can name a different socket. Every place that
 * connects to or creates a unix socket checks its path here first.
 */
import { statSync } from 'node:fs';

/** Longest unix socket path, in bytes. */
export const MAX_UNIX_SOCKET_PATH_BYTES = 107;

/** A unix socket path that cannot be used as given. */
export class UnixSocketPathError extends Error {
  override readonly name = 'UnixSocketPathError';
  constructor(message: string, readonly path: string) {
    super(message);
  }
}

/** Why `path` cannot be a unix socket address (a phrase, the path not repeated), or undefined when it can. */
export function unixSocketPathProblem(path: string): string | undefined {
  if (path.includes('\0')) return 'the path contains a NUL byte';
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_UNIX_SOCKET_PATH_BYTES) {
    return (
      `the path is ${bytes} bytes long, more than the ${MAX_UNIX_SOCKET_PATH_BYTES} bytes a unix socket address holds, ` +
      'so it would be cut short and could name another socket; use a shorter path (a symlink to its folder, or a path relative to a nearer working directory)'
    );
  }
  return undefined;
}

/** Throws UnixSocketPathError ("<what> <path>: <why>") when `path` cannot be a unix socket address. */
export function checkUnixSocketPath(path: string, what = 'unix socket'): void {
  const problem = unixSocketPathProblem(path);
  if (problem !== undefined) throw new UnixSocketPathError(`${what} ${path}: ${problem}`, path);
}

/**
 * What is at `path` when it is not a socket: "is a directory", "is a regular file", ...;
 * undefined when it is a socket or cannot be examined. Explains a refused connection.
 */
export function notASocket(path: string): string | undefined {
  let st;
  try {
    st = statSync(path);
  } catch {
    return undefined;
  }
  if (st.isSocket()) return undefined;
  if (st.isDirectory()) return 'is a directory, not a socket';
  if (st.isFile()) return 'is a regular file, not a socket';
  if (st.isFIFO()) return 'is a named pipe (FIFO), not a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'is a device file, not a socket';
  return 'is not a socket';
}
