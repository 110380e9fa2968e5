/**
 * What "Check vhost-user Flow" checks when no text editor is active: the traces of the focused
 * migration view (a recording's two sides together, or each trace), else the recordings and
 * trace files of the workspace, else a file the user picks.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { labFileNames } from '../../core/lab/record';
import { activeMigrationViewFiles } from '../migrationView/index';
import { scanRecordings } from '../recordingsScan';

export type FlowTarget = { readonly kind: 'file'; readonly uri: vscode.Uri } | { readonly kind: 'recording'; readonly dir: string };

type Item = vscode.QuickPickItem & { readonly target?: FlowTarget };

/** The recording folder both traces belong to, when they are its two sides. */
function recordingOf(files: readonly string[]): string | undefined {
  const dirs = [...new Set(files.map((f) => dirname(f)))];
  const dir = dirs.length === 1 ? dirs[0] : undefined;
  return dir !== undefined && existsSync(join(dir, labFileNames.scenario)) ? dir : undefined;
}

function fileItem(file: string, description: string): Item {
  return { label: `$(file) ${basename(file)}`, description, detail: vscode.workspace.asRelativePath(file), target: { kind: 'file', uri: vscode.Uri.file(file) } };
}

function recordingItem(dir: string, description: string): Item {
  return { label: `$(checklist) ${basename(dir)}: both sides`, description, detail: 'each side\'s trace with its back-end log and QEMU stderr', target: { kind: 'recording', dir } };
}

async function candidates(): Promise<{ items: Item[]; title: string }> {
  const viewFiles = activeMigrationViewFiles();
  if (viewFiles?.length) {
    const dir = viewFiles.length > 1 ? recordingOf(viewFiles) : undefined;
    return {
      title: 'Check vhost-user Flow: traces of the migration view',
      items: [...(dir ? [recordingItem(dir, 'in the migration view')] : []), ...viewFiles.map((f) => fileItem(f, 'in the migration view'))],
    };
  }
  const scan = await scanRecordings();
  return {
    title: 'Check vhost-user Flow',
    items: [
      ...scan.recordings.map((r) => recordingItem(r.folder.fsPath, `recording · ${r.scenario}`)),
      ...scan.traceFiles.map((u) => fileItem(u.fsPath, 'trace file')),
    ],
  };
}

/** Asks what to check; undefined when the user dismissed the picker. */
export async function chooseFlowTarget(): Promise<FlowTarget | undefined> {
  const { items, title } = await candidates();
  const browse: Item = { label: '$(folder-opened) Choose a file…', description: 'a QEMU trace, a DPDK vhost log, an strace capture or a back-end log', alwaysShow: true };
  const picked = await vscode.window.showQuickPick<Item>([...items, browse], {
    title, placeHolder: items.length ? 'What to check against the vhost-user spec' : 'No recordings or trace files in this workspace: choose a file', matchOnDetail: true,
  });
  if (!picked) return undefined;
  if (picked.target) return picked.target;
  const chosen = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Check vhost-user Flow', title: 'A QEMU trace, DPDK vhost log, strace capture or back-end log' });
  return chosen?.[0] ? { kind: 'file', uri: chosen[0] } : undefined;
}
