import * as vscode from 'vscode';
import { setCapabilities } from '../../core/migration/actions';
import { ConnectionsTree, type ConnNode } from '../connections';
import type { WorkbenchContext } from '../context';
import { openChartPanel } from './chartPanel';
import { connectCommand } from './connect';
import { migrationCommands, migrationPair } from './migrationCommands';
import { otherCommands } from './otherCommands';
import { onLive, reporting, type CommandHandler } from './pick';
import { QmpSession } from './session';
import { MigrationStatusBar } from './statusBar';

let current: QmpSession | undefined;

/** The window's QMP session (its connections are shared with the migration debugger), once registered. */
export function qmpSession(): QmpSession | undefined {
  return current;
}

/**
 * QMP in the editor: the Connections view, the status bar item, the palette commands and
 * the live chart. Connecting to a socket launches nothing, so it works in untrusted workspaces.
 */
export function registerQmpFeatures(ctx: WorkbenchContext): void {
  const session = new QmpSession(ctx.extension.workspaceState, ctx.lifetime.child('qmp'));
  const tree = new ConnectionsTree(session.manager);
  const view = vscode.window.createTreeView<ConnNode>('qemuMigration.connections', { treeDataProvider: tree, showCollapseAll: true });
  const status = new MigrationStatusBar(session);
  ctx.subscriptions.push(session, tree, view, status);
  current = session;
  ctx.subscriptions.push({ dispose: () => { if (current === session) current = undefined; } });

  let pending: NodeJS.Timeout | undefined;
  const refresh = (): void => {
    if (pending) return;
    // The tree redraws at most a few times a second however fast the monitors change.
    pending = setTimeout(() => {
      pending = undefined;
      tree.refresh();
      status.update();
      // Commands on a live QEMU are enabled only while one is connected, the pair migration only while a source and a destination are.
      void vscode.commands.executeCommand('setContext', 'qemuMigration.qmpConnected', session.connected().length > 0);
      void vscode.commands.executeCommand('setContext', 'qemuMigration.pairReady', migrationPair(session) !== undefined);
    }, 200);
  };
  // Keeps the "reconnecting in N s" countdown moving while a connection waits for QEMU.
  const countdown = setInterval(() => {
    if (session.manager.list().some((c) => c.state.kind === 'waiting')) refresh();
  }, 1000);
  ctx.subscriptions.push({ dispose: session.manager.onChange(refresh) }, { dispose: () => clearTimeout(pending) }, { dispose: () => clearInterval(countdown) });

  ctx.subscriptions.push(
    view.onDidChangeCheckboxState((e) => {
      for (const [node, state] of e.items) {
        if (node.kind !== 'capability') continue;
        const m = session.manager.get(node.id)?.monitor;
        if (!m) continue;
        const on = state === vscode.TreeItemCheckboxState.Checked;
        void reporting(`Set capability ${node.name}`, async () => {
          try {
            await setCapabilities(m, { [node.name]: on });
          } finally {
            await m.refresh();
          }
        });
      }
    }),
  );

  const commands: Array<[string, CommandHandler]> = [
    ['qemuMigration.connectQmp', () => reporting('Connect to QMP', () => connectCommand(session))],
    ['qemuMigration.openLiveChart', onLive(session, 'Live chart', async (l) => { openChartPanel(ctx, session, l.conn.spec.id); })],
    ...migrationCommands(session, ctx.extension.workspaceState),
    ...otherCommands(session),
  ];
  for (const [id, run] of commands) ctx.subscriptions.push(vscode.commands.registerCommand(id, run));

  session.manager.restore();
  ctx.log.info(`QMP: ${session.manager.list().length} saved connection(s) restored`);
}
