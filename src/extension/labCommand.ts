import * as vscode from 'vscode';
import { LabAbortedError, LabMissingBinaryError, type LabScenario, labScenarios, runLab } from '../core/lab/index';
import * as config from './config';
import type { WorkbenchContext } from './context';
import { revealUri } from './recordings';

/** `<scenario>-YYYYMMDD-HHMMSS` in UTC: sorts by time and never collides within a window. */
function runFolderName(scenario: LabScenario, now: Date): string {
  const stamp = now.toISOString().replace(/\.\d+Z$/, '').replace(/[-:]/g, '').replace('T', '-');
  return `${scenario}-${stamp}`;
}

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
    void vscode.window.showErrorMessage('Open a folder first, or set "qemuMigration.recordingsDir" to an absolute path: the lab needs a folder to record into.');
    return;
  }
  const scenario = await pickScenario();
  if (!scenario) return;

  const outDir = vscode.Uri.joinPath(recordings, runFolderName(scenario, new Date()));
  const qemuBinary = config.qemuBinary();
  ctx.log.info(`lab ${scenario}: ${qemuBinary} → ${outDir.fsPath}`);

  const outcome = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Migration lab: ${scenario}`, cancellable: true },
    async (progress, token): Promise<LabOutcome> => {
      const abort = new AbortController();
      const onCancel = token.onCancellationRequested(() => abort.abort());
      try {
        const result = await runLab(
          { scenario, outDir: outDir.fsPath, qemuBinary, testpmdBinary: config.testpmdBinary() },
          {
            signal: abort.signal,
            log: (line) => ctx.log.info(`[lab] ${line}`),
            progress: (step) => progress.report({ message: step }),
          },
        );
        return { kind: 'completed', durationMs: result.durationMs };
      } catch (err) {
        const failure = describeFailure(err);
        ctx.log.error(`lab ${scenario} ${failure.kind}: ${failure.message}`);
        return failure;
      } finally {
        onCancel.dispose();
      }
    },
  );
  // runLab writes scenario.json whatever the outcome, so even a failed run is listed.
  ctx.recordingCreated.fire(outDir);
  await report(ctx, scenario, outDir, outcome);
}

type LabOutcome =
  | { kind: 'completed'; durationMs: number }
  | { kind: 'aborted' | 'failed'; message: string; setting?: string };

/** Settings that name the programs the lab looks for, by the `what` of LabMissingBinaryError. */
const binarySettings: Readonly<Record<string, string>> = {
  QEMU: 'qemuMigration.qemuBinary',
  'DPDK testpmd': 'qemuMigration.testpmdBinary',
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

async function report(ctx: WorkbenchContext, scenario: LabScenario, outDir: vscode.Uri, outcome: LabOutcome): Promise<void> {
  const openFolder = 'Open Folder';
  const showOutput = 'Show Output';
  const openSettings = 'Open Settings';
  let choice: string | undefined;
  switch (outcome.kind) {
    case 'completed':
      ctx.log.info(`lab ${scenario} completed in ${outcome.durationMs} ms → ${outDir.fsPath}`);
      choice = await vscode.window.showInformationMessage(
        `Migration lab ${scenario} completed in ${(outcome.durationMs / 1000).toFixed(1)} s.`,
        openFolder,
        showOutput,
      );
      break;
    case 'aborted':
      choice = await vscode.window.showWarningMessage(`Migration lab ${scenario} was cancelled.`, openFolder, showOutput);
      break;
    case 'failed': {
      const actions = outcome.setting ? [openSettings, showOutput] : [openFolder, showOutput];
      choice = await vscode.window.showErrorMessage(`Migration lab ${scenario} failed: ${outcome.message}`, ...actions);
      if (choice === openSettings && outcome.setting) await vscode.commands.executeCommand('workbench.action.openSettings', outcome.setting);
      break;
    }
  }
  if (choice === openFolder) await revealUri(outDir);
  else if (choice === showOutput) ctx.log.show(true);
}

export function registerLabFeatures(ctx: WorkbenchContext): void {
  ctx.subscriptions.push(vscode.commands.registerCommand('qemuMigration.runLab', () => runLabCommand(ctx)));
}
