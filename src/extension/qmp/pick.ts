import * as vscode from 'vscode';
import type { ManagedConnection } from '../../core/monitor/connectionManager';
import type { MigrationMonitor } from '../../core/monitor/monitor';
import type { ConnNode } from '../connections';
import type { QmpSession } from './session';

/** A connection that is up: what every command on a live QEMU receives. */
export interface Live {
  conn: ManagedConnection;
  monitor: MigrationMonitor;
}

/** A command handler as VS Code calls it: a Connections view node from a menu, or nothing from the palette. */
export type CommandHandler = (arg?: unknown) => Promise<void>;

/** An action offered with an error: the button's title and what it does. */
export interface ErrorAction {
  readonly title: string;
  run(): unknown;
}

const nodeKinds: ReadonlySet<string> = new Set(['connection', 'group', 'field', 'capability', 'parameter', 'warning']);

/** A Connections view node, as menus pass it; anything else (a palette run, a keybinding's args) is not one. */
export function asConnNode(arg: unknown): ConnNode | undefined {
  if (typeof arg !== 'object' || arg === null) return undefined;
  const n = arg as { kind?: unknown; id?: unknown };
  return typeof n.kind === 'string' && nodeKinds.has(n.kind) && typeof n.id === 'string' ? (arg as ConnNode) : undefined;
}

export function liveConnections(session: QmpSession): Live[] {
  return session.connected().flatMap((conn) => (conn.monitor ? [{ conn, monitor: conn.monitor }] : []));
}

/** The connection a command acts on: the tree node it was invoked on, the only one that fits, or the user's pick. */
export async function pickConnection(session: QmpSession, node: ConnNode | undefined, filter?: (l: Live) => boolean): Promise<Live | undefined> {
  const live = liveConnections(session);
  if (node) {
    const hit = live.find((l) => l.conn.spec.id === node.id);
    if (hit) return hit;
  }
  const usable = filter ? live.filter(filter) : live;
  if (usable.length === 0) {
    const connect = 'Connect to QMP…';
    const text = live.length === 0 ? 'No QMP connection is open.' : 'None of the open QMP connections can do this (see the role and the QEMU version of each).';
    if ((await vscode.window.showWarningMessage(text, connect)) === connect) await vscode.commands.executeCommand('qemuMigration.connectQmp');
    return undefined;
  }
  if (usable.length === 1) return usable[0];
  const picked = await vscode.window.showQuickPick(
    usable.map((l) => ({ label: l.conn.spec.label, description: `${l.conn.spec.role} · ${l.monitor.status}`, l })),
    { title: 'QMP connection' },
  );
  return picked?.l;
}

/** Runs a command body, turning errors into one notification with the actions given. */
export async function reporting(what: string, body: () => Promise<void>, actions: readonly ErrorAction[] = []): Promise<void> {
  try {
    await body();
  } catch (e) {
    const choice = await vscode.window.showErrorMessage(`${what}: ${e instanceof Error ? e.message : String(e)}`, ...actions.map((a) => a.title));
    await actions.find((a) => a.title === choice)?.run();
  }
}

/** "Show Connection Output": the QMP traffic of that connection, where its error can be read in context. */
export function showOutputAction(session: QmpSession, l: Live): ErrorAction {
  return { title: 'Show Connection Output', run: () => session.channel(l.conn.spec).show(true) };
}

/**
 * A command that needs a live connection: its body receives one (the node's, the only one, or
 * the user's pick; `filter` narrows which fit). Its errors offer the connection's output.
 * The commands are enabled only while a connection is up (package.json `enablement`).
 */
export function onLive(session: QmpSession, what: string, body: (l: Live, node: ConnNode | undefined) => Promise<void>, filter?: (l: Live) => boolean): CommandHandler {
  return async (arg) => {
    const node = asConnNode(arg);
    const l = await pickConnection(session, node, filter);
    if (l) await reporting(what, () => body(l, node), [showOutputAction(session, l)]);
  };
}

/** A command on a connection whether it is up or not (disconnect, reconnect, its output). */
export function onConnection(session: QmpSession, what: string, body: (c: ManagedConnection) => Promise<void> | void): CommandHandler {
  return (arg) => reporting(what, async () => {
    const node = asConnNode(arg);
    const c = node ? session.manager.get(node.id) : (await pickConnection(session, undefined))?.conn;
    if (c) await body(c);
  });
}
