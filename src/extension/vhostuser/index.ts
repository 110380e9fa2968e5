import * as vscode from 'vscode';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { labFileNames } from '../../core/lab/record';
import { parseBackendLog } from '../../core/vhostuser/backendLog';
import type { Catalogue } from '../../core/trace/catalogue';
import { choiceText, resolveCatalogueOfText } from '../../core/trace/catalogueResolver';
import { checkText, detectFormat, type CheckResult, type LoadedSpec, type Violation } from '../../core/vhostuser/check';
import { checkRecording, isRecordingDir, readBackendSource, readStderrSource } from '../../core/vhostuser/checkFile';
import type { DiagnosisInputs } from '../../core/vhostuser/diagnose';
import { loadSpec, sameQemuRelease, SPEC_IN_TREE, specQemuVersion } from '../../core/vhostuser/specSource';
import { loadUserRules, mergeRules, WORKSPACE_RULES } from '../../core/vhostuser/userRules';
import { qemuSourceDir, settingKey } from '../config';
import { randomBytes } from 'node:crypto';
import { catalogueOptions } from '../trace/catalogueTrees';
import { chooseFlowTarget, type FlowTarget } from './chooseFlow';
import { ladderHtml, type LadderToHost } from './ladderHtml';

export const CHECK_FLOW_COMMAND = 'qemuMigration.checkVhostUserFlow';
/** Checks every side of a recording folder (a Uri, a path or a Recordings view node); the tasks run it after a run. */
export const CHECK_RECORDING_COMMAND = 'qemuMigration.checkVhostUserRecording';

/** QEMUMigration.QEMUSourceFolder, else the first workspace folder that is a QEMU tree (has docs/interop/vhost-user.rst). */
function qemuTree(): string | undefined {
  const configured = qemuSourceDir();
  if (configured && existsSync(join(configured, SPEC_IN_TREE))) return configured;
  for (const f of vscode.workspace.workspaceFolders ?? []) {
    if (f.uri.scheme === 'file' && existsSync(join(f.uri.fsPath, SPEC_IN_TREE))) return f.uri.fsPath;
  }
  return undefined;
}

/** The spec of the open QEMU tree (else the built-in one) plus the workspace's own rules file. */
function specForWorkspace(log: vscode.LogOutputChannel): LoadedSpec {
  const tree = qemuTree();
  const spec = loadSpec({ qemuTree: tree });
  for (const f of vscode.workspace.workspaceFolders ?? []) {
    const rules = join(f.uri.fsPath, WORKSPACE_RULES);
    if (f.uri.scheme !== 'file' || !existsSync(rules)) continue;
    log.info(`vhost-user: adding rules from ${rules}`);
    return { ...spec, rules: mergeRules(spec.rules, loadUserRules(rules, spec.model)) };
  }
  return spec;
}

/** A line's range; lines past the end are clamped by the editor when the diagnostic is shown. */
const lineAt = (line: number): vscode.Range => new vscode.Range(Math.max(line - 1, 0), 0, Math.max(line - 1, 0), Number.MAX_SAFE_INTEGER);

/** A link to the spec document at a line, when the spec is a file (not the built-in model). */
function specLocation(spec: LoadedSpec, line: number): vscode.Location | undefined {
  if (!existsSync(spec.source) || line <= 0) return undefined;
  return new vscode.Location(vscode.Uri.file(spec.source), new vscode.Position(line - 1, 0));
}

function violationDiagnostic(v: Violation, spec: LoadedSpec, checked: vscode.Uri): vscode.Diagnostic {
  const d = new vscode.Diagnostic(lineAt(v.line), `${v.message}. Spec line ${v.specLine}: "${v.sentence}"`, vscode.DiagnosticSeverity.Error);
  d.source = 'vhost-user';
  const at = specLocation(spec, v.specLine);
  d.code = at ? { value: v.rule, target: at.uri.with({ fragment: `L${v.specLine}` }) } : v.rule;
  const related: vscode.DiagnosticRelatedInformation[] = [];
  for (const s of v.sources ?? []) {
    const uri = s.file === undefined ? checked : vscode.Uri.file(s.file);
    related.push(new vscode.DiagnosticRelatedInformation(new vscode.Location(uri, lineAt(s.line)), `${s.role}: ${s.text}`));
  }
  for (const c of v.citations ?? [{ sentence: v.sentence, specLine: v.specLine }]) {
    const loc = specLocation(spec, c.specLine);
    if (loc) related.push(new vscode.DiagnosticRelatedInformation(loc, c.sentence));
  }
  if (related.length) d.relatedInformation = related;
  return d;
}

/**
 * Problems of a checked file: its violations only. A rule the file cannot decide (a trace does
 * not show which features were negotiated) is not a problem of that line; those are counted in
 * the summary and listed in the ladder and the log.
 */
function diagnosticsOf(result: CheckResult, spec: LoadedSpec, checked: vscode.Uri): vscode.Diagnostic[] {
  return result.violations.filter((v) => v.file === undefined).map((v) => violationDiagnostic(v, spec, checked));
}

/** A trace inside a recording folder (`src-trace.log`, `dst-trace.log`): that side's bridge log and QEMU stderr beside it. */
function siblingSources(fsPath: string): Pick<DiagnosisInputs, 'backend' | 'stderr'> {
  const side = /^(src|dst)-trace\.log$/.exec(basename(fsPath))?.[1] as 'src' | 'dst' | undefined;
  if (!side) return {};
  const dir = dirname(fsPath);
  const bridge = join(dir, labFileNames[side === 'src' ? 'srcBridgeLog' : 'dstBridgeLog']);
  const stderr = join(dir, labFileNames[side === 'src' ? 'srcQemuStderr' : 'dstQemuStderr']);
  return {
    ...(existsSync(bridge) ? { backend: readBackendSource(bridge) } : {}),
    ...(existsSync(stderr) ? { stderr: readStderrSource(stderr) } : {}),
  };
}

function summaryOf(result: CheckResult, spec: LoadedSpec): string {
  return `vhost-user: ${result.messageCount} messages (${result.flow.format}), ${result.violations.length} violation(s), ${result.unknown.length} undecided rule(s); spec ${spec.source}`;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/**
 * The QEMU version a trace comes from: a recording's scenario.json names each side's (src-/dst-
 * files), else the built-in catalogue that decodes the trace best gives the nearest release.
 */
function traceQemuVersion(file: string | undefined, fromCatalogue: string | undefined): string | undefined {
  const side = file !== undefined ? /^(src|dst)-/.exec(basename(file))?.[1] : undefined;
  if (file === undefined || side === undefined) return fromCatalogue;
  try {
    const record = JSON.parse(readFileSync(join(dirname(file), labFileNames.scenario), 'utf8')) as { qemu?: { version?: unknown }; destinationQemu?: { version?: unknown } };
    const version = side === 'dst' ? record.destinationQemu?.version ?? record.qemu?.version : record.qemu?.version;
    return typeof version === 'string' && /^\d+\.\d+/.test(version) ? version : fromCatalogue;
  } catch {
    return fromCatalogue;
  }
}

/** Which spec a check used, and a warning when the trace comes from another QEMU release than that spec. */
function specSentence(spec: LoadedSpec, traceVersion: string | undefined): { text: string; mismatch: boolean } {
  const version = specQemuVersion(spec);
  const which = version ? `the QEMU ${version} vhost-user spec (${spec.source.startsWith('built-in') ? 'built-in' : spec.source})` : `the vhost-user spec ${spec.source}`;
  if (!version || !traceVersion || sameQemuRelease(version, traceVersion)) return { text: `Checked against ${which}.`, mismatch: false };
  return {
    text: `Checked against ${which}, while the trace is from QEMU ${traceVersion}: rules that changed between them may not apply. Set "${settingKey('qemuSourceFolder')}" to a QEMU ${traceVersion} tree to check against its own spec.`,
    mismatch: true,
  };
}

/** One notification for a check: what was found, which spec, and the ladder. */
async function reportCheck(what: string, result: CheckResult, spec: LoadedSpec, traceVersion: string | undefined, ladder: () => void): Promise<void> {
  const counts = `${plural(result.messageCount, 'message')}, ${plural(result.violations.length, 'violation')}, ${plural(result.unknown.length, 'rule')} the ${result.flow.format} cannot decide`;
  const about = specSentence(spec, traceVersion);
  const text = `vhost-user flow of ${what}${traceVersion ? ` (QEMU ${traceVersion})` : ''}: ${counts}. ${about.text}`;
  const show = 'Show Ladder Diagram';
  const settings = 'Open Settings';
  const actions = about.mismatch ? [show, settings] : [show];
  const choice = result.violations.length > 0 ? await vscode.window.showErrorMessage(text, ...actions)
    : about.mismatch ? await vscode.window.showWarningMessage(text, ...actions) : await vscode.window.showInformationMessage(text, ...actions);
  if (choice === show) ladder();
  else if (choice === settings) await vscode.commands.executeCommand('workbench.action.openSettings', settingKey('qemuSourceFolder'));
}

async function checkDocument(doc: vscode.TextDocument, flows: vscode.DiagnosticCollection, log: vscode.LogOutputChannel): Promise<void> {
  const spec = specForWorkspace(log);
  const text = doc.getText();
  const asBackendLog = /\bbridge\.log$/.test(doc.uri.fsPath) && /^PANIC: /m.test(text);
  // A QEMU trace is decoded with the catalogue that fits it (catalogueResolver), said in the log.
  let catalogue: Catalogue | undefined;
  let traceVersion: string | undefined;
  if (!asBackendLog && detectFormat(text) === 'qemu-trace') {
    const r = await resolveCatalogueOfText(text, catalogueOptions(log));
    log.info(`vhost-user: ${doc.uri.fsPath}: ${choiceText(r.choice)}`);
    if (r.choice.warning) void vscode.window.showWarningMessage(`vhost-user: ${r.choice.warning}`);
    catalogue = r.catalogue;
    traceVersion = traceQemuVersion(doc.uri.scheme === 'file' ? doc.uri.fsPath : undefined, r.choice.version);
  }
  const result = asBackendLog
    ? checkText('', spec, { format: 'libvhost-user-log', backend: { file: doc.uri.fsPath, log: parseBackendLog(text) } })
    : checkText(text, spec, { ...(catalogue ? { catalogue } : {}), traceFile: doc.uri.scheme === 'file' ? doc.uri.fsPath : undefined, ...(doc.uri.scheme === 'file' ? siblingSources(doc.uri.fsPath) : {}) });
  flows.set(doc.uri, diagnosticsOf(result, spec, doc.uri));
  log.info(summaryOf(result, spec));
  for (const u of result.unknown) log.info(`${doc.uri.fsPath}:${u.line}: undecided (${u.count}x) ${u.rule}: ${u.message}`);
  void reportCheck(basename(doc.uri.fsPath || doc.uri.path), result, spec, traceVersion, () => showLadder(doc.uri, result));
}

function isLadderMessage(m: unknown): m is LadderToHost {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'reveal' && Number.isInteger((m as { line?: unknown }).line);
}

/** The flow as a ladder (front-end | back-end); clicking a row reveals its line in the checked file. */
function showLadder(uri: vscode.Uri, result: CheckResult, preserveFocus = false): vscode.WebviewPanel {
  const title = `vhost-user: ${basename(uri.fsPath || uri.path)}`;
  const panel = vscode.window.createWebviewPanel('qemuMigration.vhostUserLadder', title, { viewColumn: vscode.ViewColumn.Beside, preserveFocus }, { enableScripts: true, localResourceRoots: [] });
  panel.webview.html = ladderHtml(result, { title, cspSource: panel.webview.cspSource, nonce: randomBytes(16).toString('base64') });
  panel.webview.onDidReceiveMessage(async (m: unknown) => {
    if (!isLadderMessage(m)) return;
    const doc = await vscode.workspace.openTextDocument(uri);
    const editor = await vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
    const line = doc.lineAt(Math.min(Math.max(m.line - 1, 0), Math.max(doc.lineCount - 1, 0))).range;
    editor.selection = new vscode.Selection(line.start, line.start);
    editor.revealRange(line, vscode.TextEditorRevealType.InCenter);
  });
  return panel;
}

/** A folder from a command argument: a Uri, a path, or a Recordings view node. */
function folderOf(arg: unknown): string | undefined {
  if (arg instanceof vscode.Uri) return arg.fsPath;
  if (typeof arg === 'string') return arg;
  const rec = (arg as { recording?: { folder?: unknown } } | undefined)?.recording?.folder;
  return rec instanceof vscode.Uri ? rec.fsPath : undefined;
}

export interface RecordingCheckSummary {
  readonly sides: { readonly side: string; readonly trace: string; readonly violations: number; readonly rules: string[] }[];
}

/** Checks each side of a recording, sets the diagnostics of its traces, opens a ladder for each side with a violation. */
async function checkRecordingFolder(dir: string, flows: vscode.DiagnosticCollection, log: vscode.LogOutputChannel, options: { showLadders: boolean; report: boolean }): Promise<RecordingCheckSummary> {
  if (!isRecordingDir(dir)) throw new Error(`${dir} is not a folder`);
  const spec = specForWorkspace(log);
  const results = await checkRecording(dir, spec, { catalogues: catalogueOptions(log) });
  const sides: RecordingCheckSummary['sides'][number][] = [];
  for (const { side, result } of results) {
    const uri = vscode.Uri.file(side.trace);
    // A recording's check lists what is wrong; the rules a trace cannot decide are in the ladder's summary and the log.
    flows.set(uri, diagnosticsOf(result, spec, uri));
    log.info(`${side.trace}: ${summaryOf(result, spec)}`);
    if (result.catalogue) log.info(`${side.trace}: ${choiceText(result.catalogue)}`);
    if (result.catalogue?.warning) void vscode.window.showWarningMessage(`vhost-user: ${side.trace}: ${result.catalogue.warning}`);
    for (const v of result.violations) log.warn(`${v.file ?? side.trace}:${v.line}: ${v.rule}: ${v.message}`);
    sides.push({ side: side.side, trace: side.trace, violations: result.violations.length, rules: result.violations.map((v) => v.rule) });
    if (options.showLadders && result.violations.length > 0) showLadder(uri, result, true);
  }
  if (options.report) {
    const versions = [...new Set(results.flatMap((r) => {
      const v = traceQemuVersion(r.side.trace, r.result.catalogue?.version);
      return v !== undefined ? [v] : [];
    }))];
    const about = specSentence(spec, versions.length === 1 ? versions[0] : undefined);
    const found = sides.map((s) => `${s.side} ${plural(s.violations, 'violation')}${s.rules.length ? ` (${[...new Set(s.rules)].join(', ')})` : ''}`).join(', ');
    const text = `vhost-user flows of ${basename(dir)}: ${found || 'no side with a trace'}. ${about.text}`;
    const show = sides.some((s) => s.violations > 0) ? vscode.window.showErrorMessage : about.mismatch ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    void show(text, ...(about.mismatch ? ['Open Settings'] : [])).then((c) => (c ? vscode.commands.executeCommand('workbench.action.openSettings', settingKey('qemuSourceFolder')) : undefined));
  }
  return { sides };
}

/** Registers "Check vhost-user Flow" and the recording check (the spec lint of vhost-user.rst/.txt runs in the trace-events language server). */
export function registerVhostUserFeatures(ctx: vscode.ExtensionContext, log: vscode.LogOutputChannel): void {
  const flows = vscode.languages.createDiagnosticCollection('vhost-user');
  ctx.subscriptions.push(flows);
  const failed = (e: unknown): void => {
    const msg = e instanceof Error ? e.message : String(e);
    log.error(`vhost-user check: ${msg}`);
    void vscode.window.showErrorMessage(`vhost-user check: ${msg}`);
  };
  ctx.subscriptions.push(vscode.commands.registerCommand(CHECK_FLOW_COMMAND, async (arg?: unknown) => {
    try {
      // A text editor's file, else the focused migration view's traces or the workspace's, as the user picks.
      const editor = vscode.window.activeTextEditor?.document;
      const target: FlowTarget | undefined = arg instanceof vscode.Uri ? { kind: 'file', uri: arg } : editor ? undefined : await chooseFlowTarget();
      if (target?.kind === 'recording') { await checkRecordingFolder(target.dir, flows, log, { showLadders: true, report: true }); return; }
      const doc = target ? await vscode.workspace.openTextDocument(target.uri) : editor;
      if (doc) await checkDocument(doc, flows, log);
    } catch (e) {
      failed(e);
    }
  }));
  ctx.subscriptions.push(vscode.commands.registerCommand(CHECK_RECORDING_COMMAND, async (arg: unknown, options?: { showLadders?: boolean }): Promise<RecordingCheckSummary | undefined> => {
    const dir = folderOf(arg);
    if (!dir) { void vscode.window.showWarningMessage('Choose a recording folder to check.'); return undefined; }
    try {
      // Run from a menu it says what it found; the tasks (which pass options) report in their terminal.
      return await checkRecordingFolder(dir, flows, log, { showLadders: options?.showLadders ?? true, report: options === undefined });
    } catch (e) {
      failed(e);
      return undefined;
    }
  }));
}
