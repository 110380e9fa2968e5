import * as vscode from 'vscode';
import type { ManagedConnection, MigrationMonitor } from '../../core/monitor';
import type { ConnNode } from '../connections';
import type { QmpSession } from './session';

export interface Live {
  conn: ManagedConnection;
  monitor: MigrationMonitor;
}

/** The connection a command acts on: the tree node it was invoked on, the only one, or the user's pick. */
export async function pickConnection(session: QmpSession, node: unknown, filter?: (l: Live) => boolean): Promise<Live | undefined> {
  const live = session.connected().flatMap((conn) => (conn.monitor ? [{ conn, monitor: conn.monitor }] : []));
  const n = node as Partial<ConnNode> | undefined;
  if (n && typeof n.id === 'string') {
    const hit = live.find((l) => l.conn.spec.id === n.id);
    if (hit) return hit;
  }
  const usable = filter ? live.filter(filter) : live;
  if (usable.length === 0) {
    void vscode.window.showWarningMessage(live.length === 0 ? 'No QMP connection is open: run "QEMU Migration: Connect to QMP…" first.' : 'No QMP connection fits this command.');
    return undefined;
  }
  if (usable.length === 1) return usable[0];
  const picked = await vscode.window.showQuickPick(
    usable.map((l) => ({ label: l.conn.spec.label, description: `${l.conn.spec.role} · ${l.monitor.status}`, l })),
    { title: 'QMP connection' },
  );
  return picked?.l;
}

/** Runs a command body, turning errors into one notification. */
export async function reporting(what: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    void vscode.window.showErrorMessage(`${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
