/**
 * The first hour: the "Get Started with QEMU Migration Workbench" walkthrough
 * (package.json `walkthroughs`), opened by "QEMU Migration: Get Started" and, where the
 * `showWalkthroughOnStart` setting is on (the demo workspace), when the window opens, together
 * with the folder's README.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { showWalkthroughOnStart } from './config';
import type { WorkbenchContext } from './context';

export const WALKTHROUGH = 'gettingStarted';

async function openWalkthrough(ctx: WorkbenchContext): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.openWalkthrough', `${ctx.extension.extension.id}#${WALKTHROUGH}`, false);
}

/** The first workspace folder's README.md, rendered (as text where the Markdown preview is not there). */
async function openReadme(): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (folder?.uri.scheme !== 'file' || !existsSync(join(folder.uri.fsPath, 'README.md'))) return;
  const readme = vscode.Uri.joinPath(folder.uri, 'README.md');
  try {
    await vscode.commands.executeCommand('markdown.showPreview', readme);
  } catch {
    await vscode.window.showTextDocument(readme, { preview: false });
  }
}

export function registerWelcome(ctx: WorkbenchContext): void {
  ctx.subscriptions.push(vscode.commands.registerCommand('qemuMigration.openWalkthrough', () => openWalkthrough(ctx)));
  if (!showWalkthroughOnStart()) return;
  // The README's tab first, then the walkthrough in front of it, wide enough for its pictures.
  void (async () => {
    try {
      await openReadme();
      await openWalkthrough(ctx);
    } catch (e) {
      ctx.log.warn(`opening the walkthrough: ${e instanceof Error ? e.message : String(e)}`);
    }
  })();
}
