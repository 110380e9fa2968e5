import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

export interface FoundSocket {
  /** A unix socket path, or `tcp:HOST:PORT` for a running QEMU's TCP monitor. */
  path: string;
  /** Where it was found: `running QEMU`, `workspace`, `search folder`, `lab run`. */
  origin: string;
  /** The QEMU process serving it, when it was found among the running processes. */
  qemu?: RunningQemu;
}

/** What a running QEMU's command line tells about it. */
export interface RunningQemu {
  pid: number;
  /** `-name NAME` (its `guest=` or first field), when given. */
  name?: string;
  /** Started with `-incoming`: it waits to be a migration's destination. */
  incoming: boolean;
}

const skipped = new Set(['node_modules', '.git', 'dist', 'out']);

/** Unix sockets under `dir`, at most `depth` folders deep. Unreadable folders are skipped. */
export async function findSockets(dir: string, origin: string, depth = 3, limit = 200): Promise<FoundSocket[]> {
  const out: FoundSocket[] = [];
  async function walk(d: string, level: number): Promise<void> {
    if (out.length >= limit) return;
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isSocket()) out.push({ path: p, origin });
      else if (e.isDirectory() && level < depth && !skipped.has(e.name)) await walk(p, level + 1);
      if (out.length >= limit) return;
    }
  }
  await walk(dir, 0);
  return out;
}

/** QMP sockets of lab runs in progress: `<tmpdir>/qmig-lab-*\/{src,dst}-qmp.sock`. */
export async function findLabSockets(root = tmpdir()): Promise<FoundSocket[]> {
  let names: string[];
  try {
    names = (await readdir(root)).filter((n) => n.startsWith('qmig-lab-'));
  } catch {
    return [];
  }
  const out: FoundSocket[] = [];
  for (const n of names) {
    for (const side of ['src', 'dst']) {
      const p = join(root, n, `${side}-qmp.sock`);
      const s = await stat(p).catch(() => undefined);
      if (s?.isSocket()) out.push({ path: p, origin: `lab run (${side})` });
    }
  }
  return out;
}

/** `key=value` options of a QEMU option argument (`socket,id=m,path=/x,server=on`): the first field keyed `''`. */
function optionFields(arg: string): Map<string, string> {
  const fields = new Map<string, string>();
  arg.split(',').forEach((f, i) => {
    const eq = f.indexOf('=');
    if (eq < 0) fields.set(i === 0 ? '' : f, i === 0 ? f : 'on');
    else fields.set(f.slice(0, eq), f.slice(eq + 1));
  });
  return fields;
}

/** A `-qmp`/`-chardev` listening address as a QMP address: a unix path (made absolute against cwd) or tcp:HOST:PORT. */
function listeningAddress(kind: string, rest: string, cwd: string): string | undefined {
  if (kind === 'unix') return rest === '' ? undefined : resolve(cwd, rest);
  if (kind === 'tcp') return /^[^,]*:\d+$/.test(rest) ? `tcp:${rest.startsWith(':') ? `127.0.0.1${rest}` : rest}` : undefined;
  return undefined;
}

/**
 * The QMP monitors a QEMU command line opens as a server: `-qmp`/`-qmp-pretty unix:PATH,server…`
 * (or `tcp:HOST:PORT,server…`), and `-chardev socket,id=ID,path=PATH,server=on` (or `host=,port=`)
 * used by `-mon chardev=ID,mode=control`. Unix paths are made absolute against the process's cwd.
 */
export function qmpAddressesOf(argv: readonly string[], cwd: string): { addresses: string[]; name?: string; incoming: boolean } {
  const addresses: string[] = [];
  const chardevs = new Map<string, string>();
  const controlMonitors: string[] = [];
  let name: string | undefined;
  let incoming = false;
  for (let i = 1; i < argv.length; i++) {
    const opt = argv[i]!.replace(/^--/, '-');
    const value = argv[i + 1];
    if (opt === '-incoming') incoming = true;
    if (value === undefined) continue;
    if (opt === '-qmp' || opt === '-qmp-pretty') {
      const m = /^(unix|tcp):([^,]*)(,.*)?$/.exec(value);
      const server = m?.[1] === 'unix' || /,server(=on|=yes)?(,|$)/.test(m?.[3] ?? '');
      const address = m && server ? listeningAddress(m[1]!, m[2]!, cwd) : undefined;
      if (address) addresses.push(address);
    } else if (opt === '-chardev') {
      const f = optionFields(value);
      const id = f.get('id');
      const isServer = ['on', 'yes'].includes(f.get('server') ?? 'off');
      if (f.get('') === 'socket' && id !== undefined && isServer) {
        const path = f.get('path');
        const address = path !== undefined ? listeningAddress('unix', path, cwd) : f.get('port') !== undefined ? listeningAddress('tcp', `${f.get('host') ?? '127.0.0.1'}:${f.get('port')}`, cwd) : undefined;
        if (address) chardevs.set(id, address);
      }
    } else if (opt === '-mon') {
      const f = optionFields(value);
      const chardev = f.get('chardev') ?? (f.get('')?.startsWith('chardev=') ? f.get('')!.slice('chardev='.length) : undefined);
      if (chardev !== undefined && ['control', 'control-pretty'].includes(f.get('mode') ?? '')) controlMonitors.push(chardev);
    } else if (opt === '-name') {
      const f = optionFields(value);
      name = f.get('guest') ?? f.get('');
    }
  }
  for (const id of controlMonitors) {
    const a = chardevs.get(id);
    if (a !== undefined) addresses.push(a);
  }
  return { addresses: [...new Set(addresses)], ...(name ? { name } : {}), incoming };
}

/**
 * The QMP sockets of the QEMUs running on this host (processes whose program is a
 * `qemu-system-*`), read from /proc: each with its pid, `-name` and whether it waits for an
 * incoming migration. Unix sockets that no longer exist are left out; without /proc, none.
 */
export async function findRunningQemuSockets(proc = '/proc'): Promise<FoundSocket[]> {
  const pids = (await readdir(proc).catch(() => [] as string[])).filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid);
  const found = await Promise.all(pids.map(async (pid): Promise<FoundSocket[]> => {
    const raw = await readFile(join(proc, pid, 'cmdline'), 'utf8').catch(() => '');
    const argv = raw.split('\0');
    if (!argv[0] || !basename(argv[0]).startsWith('qemu-system-')) return [];
    const cwd = await readlink(join(proc, pid, 'cwd')).catch(() => '/');
    const { addresses, name, incoming } = qmpAddressesOf(argv, cwd);
    const qemu: RunningQemu = { pid: Number(pid), ...(name ? { name } : {}), incoming };
    const live = await Promise.all(addresses.map(async (a) => (a.startsWith('tcp:') || (await stat(a).catch(() => undefined))?.isSocket() ? a : undefined)));
    return live.filter((a): a is string => a !== undefined).map((path) => ({ path, origin: 'running QEMU', qemu }));
  }));
  return found.flat().sort((a, b) => a.qemu!.pid - b.qemu!.pid);
}
