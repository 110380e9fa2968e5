/**
 * What postcopy with a vhost-user back-end needs, checked before anything is started, each missing
 * piece said with what to do: userfaultfd usable by this user, shared guest memory, postcopy-ram on
 * both sides, free socket paths and UDP ports.
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { udpPortProblem } from '../qemu/bridge';
import { unixSocketPathProblem } from '../qmp/socketPath';

export interface PreflightProblem {
  readonly check: 'userfaultfd' | 'shared-memory' | 'postcopy-ram' | 'socket' | 'udp-port' | 'program';
  readonly message: string;
}

/** How the system answers the userfaultfd question (read from /proc and /dev; injectable for tests). */
export interface UserfaultfdFacts {
  readonly uid: number;
  /** /proc/sys/vm/unprivileged_userfaultfd, undefined when the file is missing (no userfaultfd in the kernel, or too old a kernel). */
  readonly unprivileged: string | undefined;
  /** /dev/userfaultfd exists and this user may open it read-write. */
  readonly devAccessible: boolean;
  readonly devExists: boolean;
}

export function userfaultfdFacts(): UserfaultfdFacts {
  let unprivileged: string | undefined;
  try {
    unprivileged = readFileSync('/proc/sys/vm/unprivileged_userfaultfd', 'utf8').trim();
  } catch {
    unprivileged = undefined;
  }
  const devExists = existsSync('/dev/userfaultfd');
  let devAccessible = false;
  try {
    accessSync('/dev/userfaultfd', constants.R_OK | constants.W_OK);
    devAccessible = true;
  } catch {
    devAccessible = false;
  }
  return { uid: process.getuid?.() ?? -1, unprivileged, devExists, devAccessible };
}

/**
 * Postcopy needs userfaultfd in the destination QEMU and in each vhost-user back-end: root may
 * always use it; other users when vm.unprivileged_userfaultfd is 1, or through /dev/userfaultfd.
 */
export function userfaultfdProblem(f: UserfaultfdFacts = userfaultfdFacts()): PreflightProblem | undefined {
  if (f.uid === 0 || f.unprivileged === '1' || f.devAccessible) return undefined;
  const ways = [
    'run as root',
    f.unprivileged === undefined ? 'use a kernel with userfaultfd (CONFIG_USERFAULTFD)' : 'set vm.unprivileged_userfaultfd=1 (sysctl)',
    f.devExists ? 'give this user read-write access to /dev/userfaultfd' : 'use a kernel with /dev/userfaultfd (6.1+) and give this user access to it',
  ];
  return { check: 'userfaultfd', message: `postcopy needs userfaultfd, which user ${f.uid} cannot use here: ${ways.join(', or ')}` };
}

export function sharedMemoryProblem(vhostUser: boolean, sharedMemory: boolean): PreflightProblem | undefined {
  if (!vhostUser || sharedMemory) return undefined;
  return { check: 'shared-memory', message: 'a vhost-user back-end maps guest memory, which must be shared: set "sharedMemory": true (memory-backend-memfd,share=on)' };
}

/** Postcopy is switched on the source but each side must have postcopy-ram. */
export function postcopyCapabilityProblem(postcopy: boolean, capabilities: Readonly<Record<string, boolean>>): PreflightProblem | undefined {
  if (!postcopy || capabilities['postcopy-ram'] === true) return undefined;
  return { check: 'postcopy-ram', message: 'switching to postcopy needs the postcopy-ram capability on both sides: add "postcopy-ram": true to capabilities' };
}

/** The capability as each QEMU reports it (query-migrate-capabilities): one that lacks it is named. */
export function postcopySupportProblem(side: 'source' | 'destination', capabilities: readonly string[]): PreflightProblem | undefined {
  if (capabilities.includes('postcopy-ram')) return undefined;
  return { check: 'postcopy-ram', message: `the ${side} QEMU has no postcopy-ram capability (query-migrate-capabilities)` };
}

/** True when something accepts connections on the unix socket at path. */
function listening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (v: boolean): void => { s.destroy(); resolve(v); };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    setTimeout(() => done(false), 2000).unref();
  });
}

/**
 * A socket path a process is about to create: short enough for a socket address, no comma (QEMU
 * option strings), not a file or folder, and not in use by a live process. A stale socket left by
 * a process that ended is fine (the new process replaces it).
 */
export async function socketPathProblem(path: string, what: string): Promise<PreflightProblem | undefined> {
  const why = unixSocketPathProblem(path);
  if (why !== undefined) return { check: 'socket', message: `${what} ${path}: ${why}` };
  if (path.includes(',')) return { check: 'socket', message: `${what} ${path}: QEMU option strings split at commas: use a path without one` };
  let st;
  try {
    st = statSync(path);
  } catch {
    return undefined;
  }
  if (!st.isSocket()) return { check: 'socket', message: `${what} ${path} is ${st.isDirectory() ? 'a folder' : 'a file'}, not a socket: remove it or choose another path` };
  if (await listening(path)) return { check: 'socket', message: `${what} ${path} is in use: another process listens on it (end that task first, or choose another socket)` };
  return undefined;
}

export async function udpProblem(address: string): Promise<PreflightProblem | undefined> {
  const at = address.lastIndexOf(':');
  const why = await udpPortProblem(address.slice(0, at), Number(address.slice(at + 1)));
  return why === undefined ? undefined : { check: 'udp-port', message: `${why}: choose another port (or leave it out: a free one is picked)` };
}

/** The problems as one message, a line each. */
export function describeProblems(problems: readonly PreflightProblem[]): string {
  return problems.map((p) => `- ${p.check}: ${p.message}`).join('\n');
}

export class PreflightError extends Error {
  override readonly name = 'PreflightError';
  constructor(readonly problems: readonly PreflightProblem[]) {
    super(`not started, because:\n${describeProblems(problems)}`);
  }
}
