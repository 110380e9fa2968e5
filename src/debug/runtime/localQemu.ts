/**
 * What /proc tells about a QEMU on this host: which process listens on a unix QMP socket,
 * its `-D` log and options from its command line, and the names of its threads.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { resolve } from 'node:path';

/** Unix socket flag of a listening socket in /proc/net/unix (`__SO_ACCEPTCON`). */
const acceptCon = 0x10000;

/** Inodes of listening unix sockets bound to `path`, from /proc/net/unix text. */
export function listeningInodes(procNetUnix: string, path: string): number[] {
  const out: number[] = [];
  for (const line of procNetUnix.split('\n').slice(1)) {
    // Num RefCount Protocol Flags Type St Inode Path
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const p = f.slice(7).join(' ');
    const flags = parseInt(f[3] ?? '', 16);
    const inode = Number(f[6]);
    if (p === path && Number.isInteger(inode) && (flags & acceptCon) !== 0) out.push(inode);
  }
  return out;
}

async function fdsHold(pid: string, inodes: ReadonlySet<string>): Promise<boolean> {
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    if (inodes.has(link)) return true;
  }
  return false;
}

/**
 * The pid of the process listening on a unix socket, found through /proc/net/unix and the
 * processes' descriptors (processes named qemu* first). Undefined when none is found here
 * (another mount namespace, a TCP monitor, no /proc).
 */
export async function pidListeningOn(socketPath: string): Promise<number | undefined> {
  let table: string;
  try {
    table = await readFile('/proc/net/unix', 'utf8');
  } catch {
    return undefined;
  }
  const inodes = listeningInodes(table, resolve(socketPath));
  if (inodes.length === 0) return undefined;
  const wanted = new Set(inodes.map((i) => `socket:[${i}]`));
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid);
  const comms = await Promise.all(pids.map((p) => readFile(`/proc/${p}/comm`, 'utf8').catch(() => '')));
  const likely = pids.filter((_, i) => comms[i]?.startsWith('qemu'));
  for (const group of [likely, pids.filter((p) => !likely.includes(p))]) {
    for (const pid of group) if (await fdsHold(pid, wanted)) return Number(pid);
  }
  return undefined;
}

export interface QemuCommandLineFacts {
  /** `-D` log file, absolute. */
  logFile?: string;
  /** `-msg timestamp=on`: trace lines carry `tid@sec.usec:`. */
  timestamps: boolean;
  /** `-name ...,debug-threads=on`: QEMU names its threads. */
  debugThreads: boolean;
}

/** Reads the options that matter here from a QEMU argument vector. */
export function commandLineFacts(argv: readonly string[], cwd: string): QemuCommandLineFacts {
  const facts: QemuCommandLineFacts = { timestamps: false, debugThreads: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const opt = a.replace(/^--/, '-');
    const next = argv[i + 1];
    if (opt === '-D' && next !== undefined) facts.logFile = resolve(cwd, next);
    else if (opt === '-msg' && next !== undefined && /(^|,)timestamp(=on|=yes)?(,|$)/.test(next)) facts.timestamps = true;
    else if (opt === '-name' && next !== undefined && /(^|,)debug-threads=on(,|$)/.test(next)) facts.debugThreads = true;
  }
  return facts;
}

export async function processCommandLine(pid: number): Promise<{ argv: string[]; cwd: string } | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '/');
    return { argv: raw.split('\0').filter((s, i, all) => s !== '' || i < all.length - 1), cwd };
  } catch {
    return undefined;
  }
}

export interface TaskName {
  tid: number;
  name: string;
}

/** Threads of a process with their names (`/proc/<pid>/task/<tid>/comm`); empty once it is gone. */
export async function taskNames(pid: number): Promise<TaskName[]> {
  const tids = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const names = await Promise.all(tids.map((t) => readFile(`/proc/${pid}/task/${t}/comm`, 'utf8').catch(() => undefined)));
  const out: TaskName[] = [];
  tids.forEach((t, i) => {
    const n = names[i];
    if (n !== undefined) out.push({ tid: Number(t), name: n.trimEnd() });
  });
  return out.sort((a, b) => a.tid - b.tid);
}
