import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';

/**
 * Typed access to the `qemuMigration.*` settings. Values are read on each call, so a change
 * in the settings applies to the next command without a restart.
 */
const section = 'qemuMigration';

export const defaultTraceFileGlobs: readonly string[] = ['**/*trace*.log', '**/*.simple', '**/*trace*.log.xz', '**/*trace*.log.gz'];

function settings(scope?: vscode.ConfigurationScope): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(section, scope);
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function asStrings(value: unknown): string[] | undefined {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && v.trim() !== '') : undefined;
}

/**
 * A setting that names a program or a build tree. In an untrusted workspace only the user
 * and machine values count: a workspace must not choose which binary the extension runs.
 */
function restrictedString(key: string, fallback: string): string;
function restrictedString(key: string, fallback?: undefined): string | undefined;
function restrictedString(key: string, fallback?: string): string | undefined {
  const config = settings();
  if (vscode.workspace.isTrusted) return asString(config.get<unknown>(key)) ?? fallback;
  const info = config.inspect<unknown>(key);
  return asString(info?.globalValue) ?? asString(info?.defaultValue) ?? fallback;
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

export function qemuBinary(): string {
  return expandHome(restrictedString('qemuBinary', 'qemu-system-x86_64'));
}

export function testpmdBinary(): string {
  return expandHome(restrictedString('testpmdBinary', 'dpdk-testpmd'));
}

export function qemuBuildDir(): string | undefined {
  const dir = restrictedString('qemuBuildDir');
  return dir === undefined ? undefined : expandHome(dir);
}

export function qemuSourceDir(): string | undefined {
  const dir = asString(settings().get<unknown>('qemuSourceDir'));
  return dir === undefined ? undefined : expandHome(dir);
}

export function socketSearchDirs(): string[] {
  return (asStrings(settings().get<unknown>('socketSearchDirs')) ?? []).map(expandHome);
}

export function traceFileGlobs(): string[] {
  const globs = asStrings(settings().get<unknown>('traceFileGlobs'));
  return globs && globs.length > 0 ? globs : [...defaultTraceFileGlobs];
}

/**
 * The folder lab runs write into. A relative setting is resolved against the first workspace
 * folder; without a workspace folder only an absolute setting gives a folder.
 */
export function recordingsDir(): vscode.Uri | undefined {
  const folder = vscode.workspace.workspaceFolders?.[0];
  const dir = expandHome(asString(settings(folder).get<unknown>('recordingsDir')) ?? 'recordings');
  if (path.isAbsolute(dir)) return vscode.Uri.file(dir);
  return folder ? vscode.Uri.joinPath(folder.uri, dir) : undefined;
}
