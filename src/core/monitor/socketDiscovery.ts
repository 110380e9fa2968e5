import { readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FoundSocket {
  path: string;
  /** Where it was found: `workspace`, `search folder`, `lab run`. */
  origin: string;
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
