import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { findLabSockets, findRunningQemuSockets, findSockets, type FoundSocket } from '../../core/monitor/socketDiscovery';
import type { Role } from '../../core/monitor/checks';
import { parseQmpTarget } from '../../core/qmp/target';
import { socketSearchDirs } from '../config';
import type { QmpSession } from './session';

/**
 * QMP sockets offered for connecting: the running QEMUs' own first, then sockets in the
 * workspace, the search folders and lab runs (each address once, with where it came from).
 */
export async function candidates(): Promise<FoundSocket[]> {
  const lists = await Promise.all([
    findRunningQemuSockets(),
    ...(vscode.workspace.workspaceFolders ?? []).map((f) => findSockets(f.uri.fsPath, 'workspace')),
    ...socketSearchDirs().map((d) => findSockets(d, 'search folder', 2)),
    findLabSockets(),
  ]);
  const seen = new Set<string>();
  return lists.flat().filter((s) => !seen.has(s.path) && seen.add(s.path));
}

export function guessRole(path: string): Role {
  const name = basename(path).toLowerCase();
  if (/(^|[^a-z])(src|source)([^a-z]|$)/.test(name)) return 'source';
  if (/(^|[^a-z])(dst|dest|destination|target)([^a-z]|$)/.test(name)) return 'destination';
  return 'none';
}

/** The role a found socket's QEMU has: a QEMU started with -incoming is a destination; else guessed from the name. */
export function roleOf(s: FoundSocket): Role {
  return s.qemu?.incoming ? 'destination' : guessRole(s.path);
}

/** The error parseQmpTarget gives for a typed address, or undefined when it is one. */
function addressProblem(text: string): string | undefined {
  try {
    parseQmpTarget(text);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

type AddressItem = vscode.QuickPickItem & { address?: string; found?: FoundSocket };

function foundItem(s: FoundSocket, connected: ReadonlySet<string>): AddressItem {
  const q = s.qemu;
  const label = q ? `${q.name ?? basename(s.path)} · QEMU pid ${q.pid}` : basename(s.path);
  const about = q ? (q.incoming ? 'started with -incoming: a destination' : 'running') : s.origin;
  return {
    label,
    description: connected.has(s.path) ? `${about} · connected` : about,
    detail: s.path,
    iconPath: new vscode.ThemeIcon(q ? 'vm-running' : 'plug'),
    address: s.path,
    found: s,
  };
}

/**
 * Step 1: one box that lists the sockets found (running QEMUs first) and takes a typed address
 * as it is (a path, `unix:PATH`, `tcp:HOST:PORT`), checked while typing.
 */
async function pickAddress(found: FoundSocket[], connected: ReadonlySet<string>): Promise<{ address: string; found?: FoundSocket } | undefined> {
  const qp = vscode.window.createQuickPick<AddressItem>();
  qp.title = 'Connect to QMP (1/2)';
  qp.placeholder = found.length ? 'A QMP socket of a running QEMU, or type a socket path or tcp:HOST:PORT' : 'No QMP sockets found: type a socket path or tcp:HOST:PORT';
  qp.ignoreFocusOut = true;
  qp.matchOnDescription = true;
  qp.matchOnDetail = true;
  const listed = found.map((s) => foundItem(s, connected));
  if (found.some((s) => s.qemu) && found.some((s) => !s.qemu)) {
    const firstOther = listed.findIndex((i) => !i.found?.qemu);
    listed.splice(firstOther, 0, { label: 'other sockets', kind: vscode.QuickPickItemKind.Separator });
  }
  qp.items = listed;
  const result = await new Promise<{ address: string; found?: FoundSocket } | undefined>((resolve) => {
    qp.onDidChangeValue((v) => {
      const text = v.trim();
      if (text === '' || listed.some((i) => i.address === text)) { qp.items = listed; return; }
      const problem = addressProblem(text);
      const typed: AddressItem = problem
        ? { label: `$(error) ${text}`, description: problem, alwaysShow: true }
        : { label: `$(edit) ${text}`, description: 'the address typed', alwaysShow: true, address: text };
      qp.items = [typed, ...listed];
    });
    qp.onDidAccept(() => {
      const item = qp.selectedItems[0] ?? qp.activeItems[0];
      if (!item?.address) return; // a typed address that is not one stays in the box to be corrected
      resolve({ address: item.address, ...(item.found ? { found: item.found } : {}) });
      qp.hide();
    });
    qp.onDidHide(() => resolve(undefined));
    qp.show();
  });
  qp.dispose();
  return result;
}

/** Step 2, when the command line does not tell: which side of a migration this QEMU is. */
async function pickRole(address: string, guess: Role): Promise<Role | undefined> {
  const roles: Array<vscode.QuickPickItem & { role: Role }> = [
    { label: 'source', description: 'the QEMU that sends', role: 'source' },
    { label: 'destination', description: 'the QEMU started with -incoming', role: 'destination' },
    { label: 'none', description: 'a single QEMU', role: 'none' },
  ];
  roles.sort((a, b) => Number(b.role === guess) - Number(a.role === guess));
  const picked = await vscode.window.showQuickPick(roles, { title: `Connect to QMP (2/2): role of ${address}`, ignoreFocusOut: true });
  return picked?.role;
}

/** A label for the connection: QEMU's -name, else the socket's name; made unique among the connections. */
function labelFor(address: string, found: FoundSocket | undefined, taken: ReadonlySet<string>): string {
  const base = found?.qemu?.name ?? (basename(address).replace(/\.sock$/, '') || address);
  let label = base;
  for (let n = 2; taken.has(label); n++) label = `${base} (${n})`;
  return label;
}

/**
 * "Connect to QMP…": pick a found socket or type an address, then its role (asked only when
 * the QEMU's command line does not say: a QEMU started with -incoming is a destination).
 */
export async function connectCommand(session: QmpSession): Promise<void> {
  const existing = session.manager.list();
  const picked = await pickAddress(await candidates(), new Set(existing.map((c) => c.spec.address)));
  if (!picked) return;
  const { address, found } = picked;
  const others = existing.filter((c) => c.spec.address !== address);
  // A guess from the name, else the side the other connections leave open.
  const named = guessRole(address);
  const open: Role = others.some((c) => c.spec.role === 'source') ? 'destination' : others.some((c) => c.spec.role === 'destination') ? 'source' : 'none';
  const role = found?.qemu?.incoming ? 'destination' : await pickRole(address, named !== 'none' ? named : open);
  if (!role) return;
  // QEMU serves one client per QMP socket: a second connection to the same address would only time out.
  const same = existing.find((c) => c.spec.address === address);
  if (same) {
    session.manager.update(same.spec.id, { role });
    if (same.state.kind !== 'connected') same.start();
    return;
  }
  const label = labelFor(address, found, new Set(others.map((c) => c.spec.label)));
  session.manager.add({ id: randomUUID(), label, role, address });
}
