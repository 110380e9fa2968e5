import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { findLabSockets, findSockets, type FoundSocket, type Role } from '../../core/monitor';
import { parseQmpTarget } from '../../core/qmp';
import { socketSearchDirs } from '../config';
import type { QmpSession } from './session';

async function candidates(): Promise<FoundSocket[]> {
  const lists = await Promise.all([
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

/** "Connect to QMP…": a found socket or a typed address, a label and a role. */
export async function connectCommand(session: QmpSession): Promise<void> {
  const typed = '$(edit) Enter a socket path or host:port…';
  const found = await candidates();
  const items: vscode.QuickPickItem[] = [
    ...found.map((s) => ({ label: s.path, description: s.origin })),
    { label: typed, alwaysShow: true },
  ];
  const picked = await vscode.window.showQuickPick(items, { title: 'Connect to QMP', placeHolder: found.length ? 'QMP socket' : 'No sockets found: enter an address', ignoreFocusOut: true });
  if (!picked) return;
  let address = picked.label;
  if (picked.label === typed) {
    const input = await vscode.window.showInputBox({
      title: 'QMP address', prompt: 'Unix socket path, unix:PATH or tcp:HOST:PORT', ignoreFocusOut: true,
      validateInput: (v) => {
        try {
          parseQmpTarget(v);
          return undefined;
        } catch (e) {
          return e instanceof Error ? e.message : String(e);
        }
      },
    });
    if (!input) return;
    address = input.trim();
  }
  const label = await vscode.window.showInputBox({ title: 'Label of this connection', value: basename(address).replace(/\.sock$/, ''), ignoreFocusOut: true });
  if (label === undefined) return;
  const guess = guessRole(address);
  const roles: Array<vscode.QuickPickItem & { role: Role }> = [
    { label: 'source', description: 'the QEMU that sends', role: 'source' },
    { label: 'destination', description: 'the QEMU started with -incoming', role: 'destination' },
    { label: 'none', description: 'a single QEMU', role: 'none' },
  ];
  roles.sort((a, b) => Number(b.role === guess) - Number(a.role === guess));
  const role = await vscode.window.showQuickPick(roles, { title: `Role of ${label || address}`, ignoreFocusOut: true });
  if (!role) return;
  // QEMU serves one client per QMP socket: a second connection to the same address would only time out.
  const existing = session.manager.list().find((c) => c.spec.address === address);
  if (existing) {
    session.manager.update(existing.spec.id, { label: label || address, role: role.role });
    if (existing.state.kind !== 'connected') existing.start();
    return;
  }
  session.manager.add({ id: randomUUID(), label: label || address, role: role.role, address });
}
