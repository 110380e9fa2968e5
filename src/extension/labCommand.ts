import * as vscode from 'vscode';
import { LabAbortedError, LabMissingBinaryError } from '../core/lab/errors';
import type { LabScenario } from '../core/lab/types';
import { labScenarios } from '../core/lab/scenarios';
import { recordingFolderName } from '../core/lab/record';
import { runLab } from '../core/lab/runner';
import { formatMillis } from '../core/units';
import * as config from './config';
import type { WorkbenchContext } from './context';
import { pickLabOptions } from './labOptionsPick';
import { pickLabQemus } from './labQemuPick';
import { revealUri } from './recordings';


async function pickScenario(): Promise<LabScenario | undefined> {
  const picked = await vscode.window.showQuickPick(
    labScenarios.map((s) => ({ label: s.name, detail: s.description, scenario: s.name })),
    { title: 'Run Migration Lab', placeHolder: 'Scenario: a real source and destination QEMU migrate on this host', matchOnDetail: true },
  );
  return picked?.scenario;
}

async function refuseUntrusted(): Promise<void> {
  const manage = 'Manage Workspace Trust';
  const choice = await vscode.window.showErrorMessage(
    'The migration lab launches QEMU processes, which this extension does not do in an untrusted workspace. Trust the workspace to run it.',
    manage,
  );
  if (choice === manage) await vscode.commands.executeCommand('workbench.trust.manage');
}

async function runLabCommand(ctx: WorkbenchContext): Promise<void> {
  if (!vscode.workspace.isTrusted) return refuseUntrusted();
  const recordings = config.recordingsDir();
  if (!recordings) {
    void vscode.window.showErrorMessage(`Set "${config.settingKey('outputFolder')}" to an absolute path: the lab needs a folder to record into.`);
    return;
  }
  const scenario = await pickScenario();
  if (!scenario) return;

  const qemus = await pickLabQemus(ctx, scenario);
  if (!qemus) return;
  const choices = await pickLabOptions(scenario, qemus.label);
  if (!choices) return;

  const outDir = vscode.Uri.joinPath(recordings, recordingFolderName(scenario, new Date()));
  ctx.log.info(`lab ${scenario}: ${qemus.src.binary}${qemus.dst !== qemus.src ? ` → ${qemus.dst.binary}` : ''} → ${outDir.fsPath} (${JSON.stringify(choices)})`);

  const outcome = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Migration lab: ${scenario}`, cancellable: true },
    async (progress, token): Promise<LabOutcome> => {
      const abort = new AbortController();
      const onCancel = token.onCancellationRequested(() => abort.abort());
      try {
        // Cancelled from the notification, or by the extension's end (deactivate, window
        // reload): either way the run stops its process groups and removes its sockets, and
        // deactivate waits for that through the tracked promise.
        const result = await ctx.lifetime.track(runLab(
          { scenario, outDir: outDir.fsPath, qemu: qemus.src, dstQemu: qemus.dst, testpmdBinary: config.testpmdBinary(), qemuBuildDirs: config.qemuBuildDirs(), ...choices },
          {
            signal: AbortSignal.any([abort.signal, ctx.lifetime.signal]),
            log: (line) => ctx.log.info(`[lab] ${line}`),
            progress: (step) => progress.report({ message: step }),
          },
        ));
        const totalTime = result.finalQueryMigrate.src?.['total-time'];
        return { kind: 'completed', durationMs: result.durationMs, ...(totalTime !== undefined ? { migrationMs: totalTime } : {}) };
      } catch (err) {
        const failure = describeFailure(err);
        ctx.log.error(`lab ${scenario} ${failure.kind}: ${failure.message}`);
        return failure;
      } finally {
        onCancel.dispose();
      }
    },
  );
  // The window is going away: nothing to report to.
  if (ctx.lifetime.disposed) return;
  // runLab writes scenario.json whatever the outcome, so even a failed run is listed.
  ctx.recordingCreated.fire(outDir);
  await report(ctx, scenario, outDir, outcome);
}

type LabOutcome =
  /** durationMs: the run's wall time; migrationMs: QEMU's total-time of the migration. */
  | { kind: 'completed'; durationMs: number; migrationMs?: number }
  | { kind: 'aborted' | 'failed'; message: string; setting?: string };

/** Settings that name the programs the lab looks for, by the `what` of LabMissingBinaryError. */
const binarySettings: Readonly<Record<string, string>> = {
  QEMU: config.settingKey('qemuBinary'),
  'DPDK testpmd': config.settingKey('testpmdBinary'),
};

function describeFailure(err: unknown): LabOutcome & { message: string } {
  if (err instanceof LabAbortedError) return { kind: 'aborted', message: err.message };
  if (err instanceof LabMissingBinaryError) {
    const setting = binarySettings[err.what];
    const fix = setting ? `install it or set "${setting}"` : 'install it';
    const where = err.binary.includes('/') ? '' : ' on PATH';
    return { kind: 'failed', message: `${err.what} '${err.binary}' was not found${where}: ${fix}.`, ...(setting ? { setting } : {}) };
  }
  return { kind: 'failed', message: err instanceof Error ? err.message : String(err) };
}

/** Where a recording went, as a sentence: the workspace storage unless the user chose a folder. */
function whereText(outDir: vscode.Uri): string {
  return config.outputInStorage() ? `in this workspace's storage, ${outDir.fsPath}` : outDir.fsPath;
}

async function report(ctx: WorkbenchContext, scenario: LabScenario, outDir: vscode.Uri, outcome: LabOutcome): Promise<void> {
  const openView = 'Open in Migration View';
  const reveal = 'Reveal in Explorer';
  const showOutput = 'Show Output';
  const openSettings = 'Open Settings';
  // The Explorer shows workspace folders only; a recording in the storage is in the Recordings view.
  const inWorkspace = vscode.workspace.getWorkspaceFolder(outDir) !== undefined;
  let choice: string | undefined;
  switch (outcome.kind) {
    case 'completed': {
      const run = `the run ${formatMillis(outcome.durationMs)}`;
      const took = outcome.migrationMs !== undefined ? `the migration took ${formatMillis(outcome.migrationMs)} (QEMU total-time), ${run}` : `${run} (no QEMU total-time recorded)`;
      ctx.log.info(`lab ${scenario} completed: ${took} → ${outDir.fsPath}`);
      choice = await vscode.window.showInformationMessage(
        `Migration lab ${scenario} completed: ${took}; recorded ${whereText(outDir)}.`,
        openView, ...(inWorkspace ? [reveal] : []), showOutput,
      );
      break;
    }
    case 'aborted':
      choice = await vscode.window.showWarningMessage(`Migration lab ${scenario} was cancelled; what it recorded is ${whereText(outDir)}.`, showOutput);
      break;
    case 'failed': {
      const actions = outcome.setting ? [openSettings, showOutput] : [openView, showOutput];
      choice = await vscode.window.showErrorMessage(`Migration lab ${scenario} failed: ${outcome.message}`, ...actions);
      if (choice === openSettings && outcome.setting) await vscode.commands.executeCommand('workbench.action.openSettings', outcome.setting);
      break;
    }
  }
  if (choice === openView) await vscode.commands.executeCommand('qemuMigration.openInMigrationView', outDir);
  else if (choice === reveal) await revealUri(outDir);
  else if (choice === showOutput) ctx.log.show(true);
}

export function registerLabFeatures(ctx: WorkbenchContext): void {
  ctx.subscriptions.push(vscode.commands.registerCommand('qemuMigration.runLab', () => runLabCommand(ctx)));
}
