import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ConfiguredQemu } from '../core/qemu/installs';

/**
 * Typed access to the `QEMUMigration.*` settings. Values are read on each call, so a change
 * in the settings applies to the next command without a restart. The keys are spelled so that
 * the Settings editor, which makes a title of the key, reads "QEMU Migration: QEMU Binary";
 * each setting's name before that (`qemuMigration.qemuBinary`) is still read when the new one
 * is unset.
 */
const section = 'QEMUMigration';
const formerSection = 'qemuMigration';

export const defaultTraceFileGlobs: readonly string[] = ['**/*trace*.log', '**/*.simple', '**/*trace*.log.xz', '**/*trace*.log.gz'];

/** Settings by their name under QEMUMigration (package.json), each with its former name under qemuMigration. */
export const settingNames = {
  qemuBinary: ['QEMUBinary', 'qemuBinary'],
  qemuBinaries: ['moreQEMUBinaries', 'qemuBinaries'],
  testpmdBinary: ['testpmdBinary', 'testpmdBinary'],
  qemuSourceFolder: ['QEMUSourceFolder', 'qemuSourceDir'],
  qemuBuildFolder: ['QEMUBuildFolder', 'qemuBuildDir'],
  socketSearchFolders: ['socketSearchFolders', 'socketSearchDirs'],
  outputFolder: ['outputFolder', 'recordingsDir'],
  traceFileGlobs: ['traceFileGlobs', 'traceFileGlobs'],
  showWalkthroughOnStart: ['showWalkthroughOnStart'],
} as const satisfies Record<string, readonly [string, string?]>;

type SettingId = keyof typeof settingNames;

/** The full key of a setting, as the Settings editor and error messages name it. */
export function settingKey(id: SettingId): string {
  return `${section}.${settingNames[id][0]}`;
}

/** Where a setting's value comes from when the workspace is not trusted: the user's and the machine's settings only. */
function explicitValue(config: vscode.WorkspaceConfiguration, key: string, workspaceValues: boolean): unknown {
  const i = config.inspect<unknown>(key);
  if (!i) return undefined;
  return workspaceValues ? i.workspaceFolderValue ?? i.workspaceValue ?? i.globalValue : i.globalValue;
}

/**
 * The value of a setting: set under its name, else under its former name, else its default.
 * A setting that names a program or a build tree (`restricted`) is read only from the user's
 * and the machine's settings in an untrusted workspace: a workspace must not choose which
 * binary the extension runs.
 */
function value(id: SettingId, opts: { restricted?: boolean; scope?: vscode.ConfigurationScope } = {}): unknown {
  const config = vscode.workspace.getConfiguration(section, opts.scope);
  const workspaceValues = !opts.restricted || vscode.workspace.isTrusted;
  const [name, former] = settingNames[id] as readonly [string, string?];
  return explicitValue(config, name, workspaceValues)
    ?? (former !== undefined ? explicitValue(vscode.workspace.getConfiguration(formerSection, opts.scope), former, workspaceValues) : undefined)
    ?? config.inspect<unknown>(name)?.defaultValue;
}

function asString(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

function asStrings(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string' && s.trim() !== '') : undefined;
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

export function qemuBinary(): string {
  return expandHome(asString(value('qemuBinary', { restricted: true })) ?? 'qemu-system-x86_64');
}

/** `QEMUMigration.moreQEMUBinaries`: paths, or `{ path, firmwareDir }`; user and machine values only when untrusted. */
export function qemuBinaries(): ConfiguredQemu[] {
  const raw = value('qemuBinaries', { restricted: true });
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((e: unknown): ConfiguredQemu[] => {
    if (typeof e === 'string') return asString(e) ? [{ binary: expandHome(e.trim()) }] : [];
    if (typeof e !== 'object' || e === null) return [];
    const o = e as Record<string, unknown>;
    const binary = asString(o['path']);
    const firmwareDir = asString(o['firmwareDir']);
    return binary ? [{ binary: expandHome(binary), ...(firmwareDir ? { firmwareDir: expandHome(firmwareDir) } : {}) }] : [];
  });
}

export function testpmdBinary(): string {
  return expandHome(asString(value('testpmdBinary', { restricted: true })) ?? 'dpdk-testpmd');
}

export function qemuBuildDir(): string | undefined {
  const dir = asString(value('qemuBuildFolder', { restricted: true }));
  return dir === undefined ? undefined : expandHome(dir);
}

export function qemuSourceDir(): string | undefined {
  const dir = asString(value('qemuSourceFolder'));
  return dir === undefined ? undefined : expandHome(dir);
}

/**
 * Build folders where a QEMU build's `tests/vhost-user-bridge` is looked for, in order: the build
 * folder, then `build/` in the source folder (both from user settings only when untrusted: they
 * name a program to run).
 */
export function qemuBuildDirs(): string[] {
  const source = asString(value('qemuSourceFolder', { restricted: true }));
  const dirs = [qemuBuildDir(), source !== undefined ? path.join(expandHome(source), 'build') : undefined];
  return dirs.filter((d): d is string => d !== undefined);
}

export function socketSearchDirs(): string[] {
  return (asStrings(value('socketSearchFolders')) ?? []).map(expandHome);
}

export function traceFileGlobs(): string[] {
  const globs = asStrings(value('traceFileGlobs'));
  return globs && globs.length > 0 ? globs : [...defaultTraceFileGlobs];
}

export function showWalkthroughOnStart(): boolean {
  return value('showWalkthroughOnStart') === true;
}

/** Whether a configuration change touches a setting (under its name or its former one). */
export function affects(e: vscode.ConfigurationChangeEvent, id: SettingId): boolean {
  const [name, former] = settingNames[id] as readonly [string, string?];
  return e.affectsConfiguration(`${section}.${name}`) || (former !== undefined && e.affectsConfiguration(`${formerSection}.${former}`));
}

let storage: { workspace?: vscode.Uri; global: vscode.Uri } | undefined;

/** Called once at activation: where the extension may write when no output folder is set. */
export function setStorage(extension: vscode.ExtensionContext): void {
  storage = { ...(extension.storageUri ? { workspace: extension.storageUri } : {}), global: extension.globalStorageUri };
}

/** The `outputFolder` setting as a folder (a relative path against the first workspace folder); undefined when unset. */
function chosenOutputFolder(): vscode.Uri | undefined | 'no-folder' {
  const folder = vscode.workspace.workspaceFolders?.[0];
  const set = asString(value('outputFolder', folder ? { scope: folder } : {}));
  if (set === undefined) return undefined;
  const dir = expandHome(set);
  if (path.isAbsolute(dir)) return vscode.Uri.file(dir);
  return folder ? vscode.Uri.joinPath(folder.uri, dir) : 'no-folder';
}

/** `<storage>/<name>`: this workspace's storage, or the global storage without a workspace. */
function inStorage(name: string): vscode.Uri | undefined {
  const base = storage?.workspace ?? storage?.global;
  return base ? vscode.Uri.joinPath(base, name) : undefined;
}

/**
 * The folder lab runs and tasks record into (one sub-folder per run): the `outputFolder`
 * setting, else `recordings/` in this workspace's storage, so nothing lands in the user's
 * checkout unasked (the Recordings view lists it either way).
 */
export function recordingsDir(): vscode.Uri | undefined {
  const chosen = chosenOutputFolder();
  return chosen === 'no-folder' ? undefined : chosen ?? inStorage('recordings');
}

/** Where Export CSV, Export PNG and Save Recording offer to save: the `outputFolder` setting, else `exports/` in the storage. */
export function exportsDir(): vscode.Uri | undefined {
  const chosen = chosenOutputFolder();
  return chosen === 'no-folder' ? undefined : chosen ?? inStorage('exports');
}

/** Whether output goes to the extension's storage (no output folder set). */
export function outputInStorage(): boolean {
  return chosenOutputFolder() === undefined;
}
