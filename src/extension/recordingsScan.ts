import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ScenarioRecord } from '../core/lab/record';
import * as config from './config';

/** A lab output folder: any folder holding a `scenario.json`. */
export interface Recording {
  readonly folder: vscode.Uri;
  readonly scenario: string;
  readonly description: string | undefined;
  readonly status: string | undefined;
  readonly qemuVersion: string | undefined;
  /** The lab run's wall time. */
  readonly durationMs: number | undefined;
  /** QEMU's total-time of the migration (the source's final query-migrate). */
  readonly migrationMs: number | undefined;
  /** Modification time of scenario.json, newest recordings are listed first. */
  readonly mtime: number;
}

export interface RecordingsSnapshot {
  readonly recordings: readonly Recording[];
  /** Trace files matched by `QEMUMigration.traceFileGlobs` that are not inside a recording. */
  readonly traceFiles: readonly vscode.Uri[];
}

const exclude = '**/node_modules/**';
const maxTraceFiles = 2000;

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The fields of scenario.json (ScenarioRecord, written by runLab) the view shows; all checked, none trusted. */
async function readRecording(scenarioFile: vscode.Uri): Promise<Recording | undefined> {
  const folder = vscode.Uri.joinPath(scenarioFile, '..');
  try {
    const [bytes, stat] = await Promise.all([vscode.workspace.fs.readFile(scenarioFile), vscode.workspace.fs.stat(scenarioFile)]);
    const parsed: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const record = parsed as { [K in keyof ScenarioRecord]?: unknown };
    const qemu = typeof record.qemu === 'object' && record.qemu !== null ? (record.qemu as { version?: unknown }) : {};
    const summary = typeof record.summary === 'object' && record.summary !== null ? (record.summary as Record<string, unknown>) : {};
    return {
      folder,
      scenario: text(record.scenario) ?? path.basename(folder.path),
      description: text(record.description),
      status: text(record.status),
      qemuVersion: text(qemu.version),
      durationMs: typeof record.durationMs === 'number' ? record.durationMs : undefined,
      migrationMs: typeof summary['totalTimeMs'] === 'number' ? summary['totalTimeMs'] : undefined,
      mtime: stat.mtime,
    };
  } catch {
    // A scenario.json being written right now, or not a lab's: list nothing for it.
    return undefined;
  }
}

function isInside(child: vscode.Uri, folder: vscode.Uri): boolean {
  const rel = path.relative(folder.fsPath, child.fsPath);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** scenario.json files of recordings in a recordings folder that lies outside every workspace folder. */
async function scenarioFilesOutsideWorkspace(): Promise<vscode.Uri[]> {
  const dir = config.recordingsDir();
  if (!dir || vscode.workspace.getWorkspaceFolder(dir)) return [];
  try {
    const entries = await vscode.workspace.fs.readDirectory(dir);
    return entries
      .filter(([, type]) => (type & vscode.FileType.Directory) !== 0)
      .map(([name]) => vscode.Uri.joinPath(dir, name, 'scenario.json'));
  } catch {
    return [];
  }
}

export async function scanRecordings(): Promise<RecordingsSnapshot> {
  const [inWorkspace, outside] = await Promise.all([
    vscode.workspace.findFiles('**/scenario.json', exclude),
    scenarioFilesOutsideWorkspace(),
  ]);
  const unique = new Map<string, vscode.Uri>();
  for (const uri of [...inWorkspace, ...outside]) unique.set(uri.toString(), uri);
  const recordings = (await Promise.all([...unique.values()].map(readRecording)))
    .filter((r): r is Recording => r !== undefined)
    .sort((a, b) => b.mtime - a.mtime);

  const traceLists = await Promise.all(config.traceFileGlobs().map((glob) => vscode.workspace.findFiles(glob, exclude, maxTraceFiles)));
  const traces = new Map<string, vscode.Uri>();
  for (const uri of traceLists.flat()) {
    if (!recordings.some((r) => isInside(uri, r.folder))) traces.set(uri.toString(), uri);
  }
  const traceFiles = [...traces.values()].sort((a, b) => a.fsPath.localeCompare(b.fsPath));
  return { recordings, traceFiles };
}
