import * as vscode from 'vscode';
import { type Feature, outputChannelName, type WorkbenchContext } from './context';
import { registerLabFeatures } from './labCommand';
import { registerMigrationView } from './migrationView/index';
import { registerOutputFeatures } from './output';
import { registerQmpFeatures } from './qmp';
import { registerRecordingsFeatures } from './recordings';
import { registerTraceFeatures } from './trace/register';
import { registerVhostUserFeatures } from './vhostuser/index';

/**
 * Features in registration order. Each one only registers (views, commands, watchers); any
 * scanning or connecting happens later, when a view is shown or a command runs.
 */
const features: readonly (readonly [name: string, register: Feature])[] = [
  ['output', registerOutputFeatures],
  ['recordings', registerRecordingsFeatures],
  ['qmp', registerQmpFeatures],
  ['lab', registerLabFeatures],
  ['migrationView', registerMigrationView],
  ['trace', (ctx) => registerTraceFeatures(ctx.extension, ctx.log)],
  ['vhostUser', (ctx) => registerVhostUserFeatures(ctx.extension, ctx.log)],
];

export function activate(extension: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel(outputChannelName, { log: true });
  const recordingCreated = new vscode.EventEmitter<vscode.Uri>();
  extension.subscriptions.push(log, recordingCreated);
  const ctx: WorkbenchContext = { extension, subscriptions: extension.subscriptions, log, recordingCreated };

  for (const [name, register] of features) {
    // One broken feature must not take the others down with it.
    try {
      register(ctx);
    } catch (err) {
      log.error(`feature ${name} failed to register: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  }
  log.info(`QEMU Migration Workbench ${String(extension.extension.packageJSON.version)} activated`);
}

export function deactivate(): void {
  // Everything registered lives in the extension's subscriptions, disposed by VS Code.
}
