/**
 * The user's QEMU trees offered to the catalogue resolver (src/core/trace/catalogueResolver):
 * the QEMUMigration.QEMUSourceFolder setting, then every workspace folder holding trace-events.
 */
import * as vscode from 'vscode';
import { qemuTreesAmong, type ResolveOptions, type TreeCandidate } from '../../core/trace/catalogueResolver';
import { qemuSourceDir } from '../config';

export function catalogueTrees(): TreeCandidate[] {
  const setting = qemuSourceDir();
  return qemuTreesAmong([
    ...(setting ? [{ path: setting, origin: 'setting' as const }] : []),
    ...(vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => ({ path: f.uri.fsPath, origin: 'workspace' as const })),
  ]);
}

/** Resolver options for the extension: the user's trees, their problems logged. */
export function catalogueOptions(log: vscode.LogOutputChannel): ResolveOptions {
  return { trees: catalogueTrees(), onTreeProblem: (m) => log.warn(`trace-events: ${m}`) };
}
