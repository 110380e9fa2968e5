import * as vscode from 'vscode';
import type { WorkbenchContext } from './context';

/**
 * Placeholder for the QMP connections view: an always-empty tree, so VS Code shows the
 * view's welcome content instead of "no data provider". The QMP feature replaces it.
 */
export function registerConnectionsView(ctx: WorkbenchContext): void {
  const empty: vscode.TreeDataProvider<never> = {
    getTreeItem: (element: never) => element,
    getChildren: () => [],
  };
  ctx.subscriptions.push(vscode.window.registerTreeDataProvider('qemuMigration.connections', empty));
}
