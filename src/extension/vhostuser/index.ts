import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { checkText, type LoadedSpec } from '../../core/vhostuser/check';
import { loadSpec, SPEC_IN_TREE } from '../../core/vhostuser/specSource';
import { loadUserRules, mergeRules, WORKSPACE_RULES } from '../../core/vhostuser/userRules';
import { lintSpecWithTree, type LintIssue } from '../../core/vhostuser/lint';
import { parseSpec } from '../../core/vhostuser/specParser';
import { qemuSourceDir } from '../config';
import { randomBytes } from 'node:crypto';
import { ladderHtml, type LadderToHost } from './ladderHtml';
import type { CheckResult } from '../../core/vhostuser/check';

export const CHECK_FLOW_COMMAND = 'qemuMigration.checkVhostUserFlow';
const SPEC_NAMES = new Set(['vhost-user.rst', 'vhost-user.txt']);

/** qemuMigration.qemuSourceDir, else the first workspace folder that is a QEMU tree (has docs/interop/vhost-user.rst). */
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

const lineRange = (doc: vscode.TextDocument, line: number): vscode.Range =>
  doc.lineAt(Math.min(Math.max(line - 1, 0), Math.max(doc.lineCount - 1, 0))).range;

/** A link to the spec document at a line, when the spec is a file (not the built-in model). */
function specLocation(spec: LoadedSpec, line: number): vscode.Location | undefined {
  if (!existsSync(spec.source) || line <= 0) return undefined;
  return new vscode.Location(vscode.Uri.file(spec.source), new vscode.Position(line - 1, 0));
}

function checkDocument(doc: vscode.TextDocument, flows: vscode.DiagnosticCollection, log: vscode.LogOutputChannel): void {
  const spec = specForWorkspace(log);
  const result = checkText(doc.getText(), spec);
  const diagnostics: vscode.Diagnostic[] = [];
  for (const v of result.violations) {
    const d = new vscode.Diagnostic(lineRange(doc, v.line), `${v.message}. Spec line ${v.specLine}: "${v.sentence}"`, vscode.DiagnosticSeverity.Error);
    d.source = 'vhost-user';
    const at = specLocation(spec, v.specLine);
    d.code = at ? { value: v.rule, target: at.uri.with({ fragment: `L${v.specLine}` }) } : v.rule;
    if (at) d.relatedInformation = [new vscode.DiagnosticRelatedInformation(at, v.sentence)];
    diagnostics.push(d);
  }
  for (const u of result.unknown) {
    const d = new vscode.Diagnostic(lineRange(doc, u.line), `undecided (${u.count}x): ${u.message}`, vscode.DiagnosticSeverity.Information);
    d.source = 'vhost-user';
    d.code = u.rule;
    diagnostics.push(d);
  }
  flows.set(doc.uri, diagnostics);
  const summary = `vhost-user: ${result.messageCount} messages (${result.flow.format}), ${result.violations.length} violation(s), ${result.unknown.length} undecided rule(s); spec ${spec.source}`;
  log.info(summary);
  void vscode.window.showInformationMessage(summary, 'Show Ladder Diagram').then((choice) => {
    if (choice) showLadder(doc, result);
  });
}

function isLadderMessage(m: unknown): m is LadderToHost {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'reveal' && Number.isInteger((m as { line?: unknown }).line);
}

/** The flow as a ladder (front-end | back-end); clicking a row reveals its line in the document. */
function showLadder(doc: vscode.TextDocument, result: CheckResult): void {
  const title = `vhost-user: ${basename(doc.uri.fsPath || doc.uri.path)}`;
  const panel = vscode.window.createWebviewPanel('qemuMigration.vhostUserLadder', title, vscode.ViewColumn.Beside, { enableScripts: true, localResourceRoots: [] });
  panel.webview.html = ladderHtml(result, { title, cspSource: panel.webview.cspSource, nonce: randomBytes(16).toString('base64') });
  panel.webview.onDidReceiveMessage(async (m: unknown) => {
    if (!isLadderMessage(m)) return;
    const editor = await vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
    const range = lineRange(doc, m.line);
    editor.selection = new vscode.Selection(range.start, range.start);
    editor.revealRange(range, vscode.TextEditorRevealType.InCenter);
  });
}

function lintDiagnostic(doc: vscode.TextDocument, i: LintIssue): vscode.Diagnostic {
  const d = new vscode.Diagnostic(lineRange(doc, i.line), i.message, i.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
  d.source = 'vhost-user lint';
  d.code = i.code;
  if (i.cFile) {
    d.relatedInformation = [new vscode.DiagnosticRelatedInformation(
      new vscode.Location(vscode.Uri.file(i.cFile), new vscode.Position(Math.max((i.cLine ?? 1) - 1, 0), 0)), 'C definition')];
  }
  return d;
}

async function lintDocument(doc: vscode.TextDocument, lint: vscode.DiagnosticCollection, log: vscode.LogOutputChannel): Promise<void> {
  if (doc.uri.scheme !== 'file' || !SPEC_NAMES.has(basename(doc.uri.fsPath))) return;
  // docs/interop/vhost-user.rst inside a QEMU tree: compare with the tree's C enums too.
  const tree = dirname(dirname(dirname(doc.uri.fsPath)));
  const inTree = doc.uri.fsPath === join(tree, SPEC_IN_TREE) && existsSync(join(tree, 'hw', 'virtio'));
  try {
    const model = parseSpec(doc.getText(), doc.uri.fsPath);
    const issues = await lintSpecWithTree(model, inTree ? tree : undefined);
    lint.set(doc.uri, issues.map((i) => lintDiagnostic(doc, i)));
  } catch (e) {
    log.error(`vhost-user lint of ${doc.uri.fsPath} failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Registers "Check vhost-user Flow" and the spec lint of opened vhost-user.rst/.txt documents. */
export function registerVhostUserFeatures(ctx: vscode.ExtensionContext, log: vscode.LogOutputChannel): void {
  const flows = vscode.languages.createDiagnosticCollection('vhost-user');
  const lint = vscode.languages.createDiagnosticCollection('vhost-user-lint');
  ctx.subscriptions.push(flows, lint);
  ctx.subscriptions.push(vscode.commands.registerCommand(CHECK_FLOW_COMMAND, () => {
    const doc = vscode.window.activeTextEditor?.document;
    if (!doc) { void vscode.window.showWarningMessage('Open a QEMU trace, a DPDK vhost log or an strace capture first.'); return; }
    try {
      checkDocument(doc, flows, log);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      log.error(`vhost-user check: ${msg}`);
      void vscode.window.showErrorMessage(`vhost-user check: ${msg}`);
    }
  }));
  ctx.subscriptions.push(
    vscode.workspace.onDidOpenTextDocument((d) => void lintDocument(d, lint, log)),
    vscode.workspace.onDidSaveTextDocument((d) => void lintDocument(d, lint, log)),
    vscode.workspace.onDidCloseTextDocument((d) => { lint.delete(d.uri); flows.delete(d.uri); }),
  );
  for (const d of vscode.workspace.textDocuments) void lintDocument(d, lint, log);
}
