import * as path from 'node:path';
import { formatMillis } from '../core/units';
import * as vscode from 'vscode';
import * as config from './config';
import type { WorkbenchContext } from './context';
import { type Recording, type RecordingsSnapshot, scanRecordings } from './recordingsScan';

export type RecordingsNode =
  | { readonly kind: 'group'; readonly group: 'recordings' | 'traces'; readonly count: number }
  | { readonly kind: 'recording'; readonly recording: Recording }
  | { readonly kind: 'entry'; readonly uri: vscode.Uri; readonly isDirectory: boolean; readonly parent: RecordingsNode }
  | { readonly kind: 'traceFile'; readonly uri: vscode.Uri };

const viewId = 'qemuMigration.recordings';
/** Trace files of a recording, named as the default trace file globs name them (`src-trace.log`, `*.simple`, compressed logs). */
const RECORDING_TRACE = /trace[^/]*\.log(\.xz|\.gz)?$|\.simple$/;
const refreshDelayMs = 300;

function statusIcon(status: string | undefined): vscode.ThemeIcon {
  switch (status) {
    case 'completed':
      return new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed'));
    case 'failed':
      return new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed'));
    case 'aborted':
      return new vscode.ThemeIcon('circle-slash');
    default:
      return new vscode.ThemeIcon('history');
  }
}

function workspaceRelative(uri: vscode.Uri): string {
  return vscode.workspace.asRelativePath(uri, (vscode.workspace.workspaceFolders?.length ?? 0) > 1);
}

function recordingItem(r: Recording): vscode.TreeItem {
  const item = new vscode.TreeItem(r.scenario, vscode.TreeItemCollapsibleState.Collapsed);
  item.id = `recording:${r.folder.toString()}`;
  // Lab runs are named `<scenario>-<time>`: the time alone tells runs of one scenario apart.
  const folderName = path.basename(r.folder.path);
  const run = folderName.startsWith(`${r.scenario}-`) ? folderName.slice(r.scenario.length + 1) : folderName === r.scenario ? undefined : folderName;
  const parts = [r.status ?? 'unknown status', r.qemuVersion ? `QEMU ${r.qemuVersion}` : undefined, run];
  item.description = parts.filter((p) => p !== undefined).join(' · ');
  const tooltip = new vscode.MarkdownString();
  tooltip.appendMarkdown(`**${r.scenario}**\n\n`);
  if (r.description) tooltip.appendText(`${r.description}\n\n`);
  tooltip.appendText(`Status: ${r.status ?? 'unknown'}\n`);
  if (r.qemuVersion) tooltip.appendText(`QEMU: ${r.qemuVersion}\n`);
  if (r.migrationMs !== undefined) tooltip.appendText(`Migration: ${formatMillis(r.migrationMs)} (QEMU total-time)\n`);
  if (r.durationMs !== undefined) tooltip.appendText(`Lab run: ${formatMillis(r.durationMs)} (wall time of the whole lab run)\n`);
  tooltip.appendText(`Folder: ${r.folder.fsPath}`);
  item.tooltip = tooltip;
  item.iconPath = statusIcon(r.status);
  item.contextValue = 'recording';
  return item;
}

function fileItem(uri: vscode.Uri, isDirectory: boolean, contextValue: string, description?: string): vscode.TreeItem {
  const item = new vscode.TreeItem(uri, isDirectory ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
  item.id = `${contextValue}:${uri.toString()}`;
  item.contextValue = contextValue;
  if (description !== undefined) item.description = description;
  item.iconPath = isDirectory ? vscode.ThemeIcon.Folder : vscode.ThemeIcon.File;
  if (!isDirectory) item.command = { command: 'qemuMigration.openRecordingFile', title: 'Open Recording File', arguments: [uri] };
  return item;
}

/**
 * Recordings view: lab output folders and loose trace files of the workspace. The workspace is
 * scanned once per refresh, lazily when the view asks for its roots; refreshes coalesce.
 */
export class RecordingsProvider implements vscode.TreeDataProvider<RecordingsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RecordingsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private snapshot: Promise<{ scan: RecordingsSnapshot; roots: RecordingsNode[] }> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  refresh(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.snapshot = undefined;
    this.changed.fire(undefined);
  }

  /** Refresh after file events have stopped arriving for a moment (a lab run writes many files). */
  refreshSoon(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), refreshDelayMs);
  }

  private load(): Promise<{ scan: RecordingsSnapshot; roots: RecordingsNode[] }> {
    this.snapshot ??= scanRecordings().then(
      (scan) => {
        const roots: RecordingsNode[] = [];
        if (scan.recordings.length > 0) roots.push({ kind: 'group', group: 'recordings', count: scan.recordings.length });
        if (scan.traceFiles.length > 0) roots.push({ kind: 'group', group: 'traces', count: scan.traceFiles.length });
        return { scan, roots };
      },
      (err: unknown) => {
        this.log.error(`scanning the workspace for recordings failed: ${err instanceof Error ? err.message : String(err)}`);
        return { scan: { recordings: [], traceFiles: [] }, roots: [] };
      },
    );
    return this.snapshot;
  }

  getTreeItem(node: RecordingsNode): vscode.TreeItem {
    switch (node.kind) {
      case 'group': {
        const label = node.group === 'recordings' ? 'Lab Recordings' : 'Trace Files';
        const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `group:${node.group}`;
        item.description = String(node.count);
        item.contextValue = `group.${node.group}`;
        return item;
      }
      case 'recording':
        return recordingItem(node.recording);
      case 'entry':
        // A recording's trace files open in the migration view like loose ones (the inline graph action).
        return fileItem(node.uri, node.isDirectory, !node.isDirectory && RECORDING_TRACE.test(node.uri.path) ? 'recordingTrace' : 'recordingFile');
      case 'traceFile':
        return fileItem(node.uri, false, 'traceFile', path.dirname(workspaceRelative(node.uri)).replace(/^\.$/, ''));
    }
  }

  async getChildren(node?: RecordingsNode): Promise<RecordingsNode[]> {
    const { scan, roots } = await this.load();
    if (!node) return roots;
    switch (node.kind) {
      case 'group':
        return node.group === 'recordings'
          ? scan.recordings.map((recording) => ({ kind: 'recording', recording }))
          : scan.traceFiles.map((uri) => ({ kind: 'traceFile', uri }));
      case 'recording':
        return this.entries(node.recording.folder, node);
      case 'entry':
        return node.isDirectory ? this.entries(node.uri, node) : [];
      case 'traceFile':
        return [];
    }
  }

  async getParent(node: RecordingsNode): Promise<RecordingsNode | undefined> {
    switch (node.kind) {
      case 'group':
        return undefined;
      case 'entry':
        return node.parent;
      case 'recording':
      case 'traceFile': {
        const group = node.kind === 'recording' ? 'recordings' : 'traces';
        return (await this.load()).roots.find((r) => r.kind === 'group' && r.group === group);
      }
    }
  }

  /** The current scan (made now when the view has not asked for one yet). */
  snapshotNow(): Promise<{ scan: RecordingsSnapshot }> {
    return this.load();
  }

  /** The node of the recording in `folder`, once the current scan has it. */
  async findRecording(folder: vscode.Uri): Promise<RecordingsNode | undefined> {
    const { scan } = await this.load();
    const recording = scan.recordings.find((r) => r.folder.toString() === folder.toString());
    return recording && { kind: 'recording', recording };
  }

  private async entries(folder: vscode.Uri, parent: RecordingsNode): Promise<RecordingsNode[]> {
    let list: [string, vscode.FileType][];
    try {
      list = await vscode.workspace.fs.readDirectory(folder);
    } catch {
      return [];
    }
    return list
      .map(([name, type]) => ({ name, isDirectory: (type & vscode.FileType.Directory) !== 0 }))
      .sort((a, b) => Number(b.isDirectory) - Number(a.isDirectory) || a.name.localeCompare(b.name))
      .map(({ name, isDirectory }) => ({ kind: 'entry', uri: vscode.Uri.joinPath(folder, name), isDirectory, parent }));
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.changed.dispose();
  }
}

/** Commands get a tree node from menus and a Uri from item clicks. */
function uriOf(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  if (typeof arg !== 'object' || arg === null || !('kind' in arg)) return undefined;
  const node = arg as RecordingsNode;
  switch (node.kind) {
    case 'recording':
      return node.recording.folder;
    case 'entry':
    case 'traceFile':
      return node.uri;
    case 'group':
      return undefined;
  }
}

/** Watchers over everything the view lists; rebuilt when the globs or the recordings folder change. */
function createWatchers(provider: RecordingsProvider): vscode.Disposable {
  const watchers: vscode.FileSystemWatcher[] = [vscode.workspace.createFileSystemWatcher('**/scenario.json')];
  // Growing trace logs change constantly; only their appearing and vanishing alter the list.
  for (const glob of config.traceFileGlobs()) watchers.push(vscode.workspace.createFileSystemWatcher(glob, false, true, false));
  const dir = config.recordingsDir();
  if (dir && !vscode.workspace.getWorkspaceFolder(dir)) {
    watchers.push(vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(dir, '*/scenario.json')));
  }
  const listeners = watchers.flatMap((w) => [
    w.onDidCreate(() => provider.refreshSoon()),
    w.onDidChange(() => provider.refreshSoon()),
    w.onDidDelete(() => provider.refreshSoon()),
  ]);
  return vscode.Disposable.from(...listeners, ...watchers);
}

export async function revealUri(uri: vscode.Uri): Promise<void> {
  // The Explorer shows only workspace folders; anything else opens in the OS file manager.
  if (vscode.workspace.getWorkspaceFolder(uri)) await vscode.commands.executeCommand('revealInExplorer', uri);
  else await vscode.commands.executeCommand('revealFileInOS', uri);
}

/** "Open Recording…": a recording or trace file of the workspace, in the migration view. */
async function openRecording(provider: RecordingsProvider): Promise<void> {
  const { scan } = await provider.snapshotNow();
  type Item = vscode.QuickPickItem & { uri: vscode.Uri };
  const items: Item[] = [
    ...scan.recordings.map((r) => ({ label: `$(history) ${r.scenario}`, description: [r.status, r.qemuVersion ? `QEMU ${r.qemuVersion}` : undefined].filter((x) => x !== undefined).join(' · '), detail: r.description ?? workspaceRelative(r.folder), uri: r.folder })),
    ...scan.traceFiles.map((uri) => ({ label: `$(graph) ${path.basename(uri.path)}`, description: 'trace file', detail: workspaceRelative(uri), uri })),
  ];
  if (items.length === 0) {
    const run = 'Run Migration Lab…';
    if ((await vscode.window.showInformationMessage('This workspace has no lab recordings or trace files yet.', run)) === run) await vscode.commands.executeCommand('qemuMigration.runLab');
    return;
  }
  const picked = await vscode.window.showQuickPick(items, { title: 'Open Recording in Migration View', placeHolder: 'A lab recording (both sides together) or a trace file', matchOnDescription: true, matchOnDetail: true });
  if (picked) await vscode.commands.executeCommand('qemuMigration.openInMigrationView', picked.uri);
}

export function registerRecordingsFeatures(ctx: WorkbenchContext): void {
  const provider = new RecordingsProvider(ctx.log);
  const view = vscode.window.createTreeView(viewId, { treeDataProvider: provider, showCollapseAll: true });
  let watchers = createWatchers(provider);

  ctx.subscriptions.push(
    provider,
    view,
    { dispose: () => watchers.dispose() },
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!config.affects(e, 'traceFileGlobs') && !config.affects(e, 'outputFolder')) return;
      watchers.dispose();
      watchers = createWatchers(provider);
      provider.refresh();
    }),
    vscode.workspace.onDidChangeWorkspaceFolders(() => provider.refresh()),
    vscode.commands.registerCommand('qemuMigration.refreshRecordings', () => provider.refresh()),
    vscode.commands.registerCommand('qemuMigration.openRecording', () => openRecording(provider)),
    vscode.commands.registerCommand('qemuMigration.revealRecording', async (arg: unknown) => {
      const uri = uriOf(arg);
      if (uri) await revealUri(uri);
    }),
    vscode.commands.registerCommand('qemuMigration.openRecordingFile', async (arg: unknown) => {
      const uri = uriOf(arg);
      if (uri) await vscode.commands.executeCommand('vscode.open', uri);
    }),
    ctx.recordingCreated.event(async (folder) => {
      provider.refresh();
      const node = await provider.findRecording(folder);
      if (node) await view.reveal(node, { select: true, focus: false, expand: true });
      else ctx.log.warn(`the new recording ${folder.fsPath} is not in the Recordings view (is it excluded from the workspace search?)`);
    }),
  );
}
