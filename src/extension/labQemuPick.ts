import * as vscode from 'vscode';
import { qemuChoices, type QemuChoice } from '../core/lab/qemuSides';
import { scenarioPlan } from '../core/lab/scenarios';
import type { LabScenario } from '../core/lab/types';
import { defaultQemuBinary, describeOrigin, findQemuInstalls, type ConfiguredQemu, type QemuInstall } from '../core/qemu/installs';
import * as config from './config';
import type { WorkbenchContext } from './context';

/** The QEMUs named in settings: `qemuBinary` when it is not the default name, then `qemuBinaries`. */
function configuredQemus(): ConfiguredQemu[] {
  const main = config.qemuBinary();
  return [...(main !== defaultQemuBinary ? [{ binary: main }] : []), ...config.qemuBinaries()];
}

const openSettings = 'Open Settings';

function where(q: QemuInstall): string {
  return q.firmwareDir !== undefined ? `${q.binary} (firmware ${q.firmwareDir})` : q.binary;
}

/**
 * Asks which QEMU (or, for a cross-version scenario, which pair) the lab runs, among the ones
 * found on PATH, in setup's cache and in settings; one choice is taken without asking. Settings
 * entries that are not a usable QEMU are reported, naming the reason.
 */
export async function pickLabQemus(ctx: WorkbenchContext, scenario: LabScenario): Promise<QemuChoice | undefined> {
  const found = await findQemuInstalls({ configured: configuredQemus() });
  for (const p of found.problems) ctx.log.warn(`lab: ${p.message}`);
  if (found.problems.length > 0) {
    void vscode.window
      .showWarningMessage(`Not offered to the migration lab: ${found.problems.map((p) => p.message).join('; ')}.`, openSettings)
      .then((c) => (c === openSettings ? vscode.commands.executeCommand('workbench.action.openSettings', config.settingKey('qemuBinaries')) : undefined));
  }
  const plan = scenarioPlan(scenario);
  const choices = qemuChoices(plan, found.installs);
  if (choices.length === 0) {
    const have = found.installs.map((i) => `QEMU ${i.versionText}`).join(', ') || 'none';
    const what = plan.crossVersion ? 'two QEMU versions' : 'a QEMU 7.2 or newer';
    const choice = await vscode.window.showErrorMessage(
      `Migration lab ${scenario} needs ${what} (found: ${have}). Run scripts/setup.sh (it installs QEMU 10.0.2 beside the system's), or list more in "${config.settingKey('qemuBinaries')}".`,
      openSettings,
    );
    if (choice === openSettings) await vscode.commands.executeCommand('workbench.action.openSettings', config.settingKey('qemuBinaries'));
    return undefined;
  }
  if (choices.length === 1) return choices[0];
  const picked = await vscode.window.showQuickPick(
    choices.map((c) => ({
      label: c.label,
      description: c.src === c.dst ? describeOrigin(c.src.origin) : `${describeOrigin(c.src.origin)} → ${describeOrigin(c.dst.origin)}`,
      detail: c.src === c.dst ? where(c.src) : `${where(c.src)} → ${where(c.dst)}`,
      choice: c,
    })),
    { title: `Run Migration Lab: ${scenario}`, placeHolder: plan.crossVersion ? 'Source → destination QEMU' : 'QEMU of both sides', matchOnDetail: true },
  );
  return picked?.choice;
}
