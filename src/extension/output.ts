import * as vscode from 'vscode';
import type { WorkbenchContext } from './context';

export function registerOutputFeatures(ctx: WorkbenchContext): void {
  ctx.subscriptions.push(vscode.commands.registerCommand('qemuMigration.showOutput', () => ctx.log.show(true)));
}
