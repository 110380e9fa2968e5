import * as vscode from 'vscode';
import { signalRunningGroups } from '../core/lab/process';
import { type Feature, outputChannelName, type WorkbenchContext } from './context';
import { setStorage } from './config';
import { registerDebugFeatures } from './debug';
import { registerLabFeatures } from './labCommand';
import { registerLanguageClient } from './languageClient/index';
import { registerMigrationView } from './migrationView/index';
import { registerOutputFeatures } from './output';
import { registerQmpFeatures } from './qmp';
import { registerRecordingsFeatures } from './recordings';
import { registerTaskFeatures } from './tasks/index';
import { Scope } from './scope';
import { registerTraceFeatures } from './trace/register';
import { registerTraceLines } from './trace/traceLines';
import { registerVhostUserFeatures } from './vhostuser/index';
import { registerWelcome } from './welcome';

/**
 * Features in registration order. Each one only registers (views, commands, watchers); any
 * scanning or connecting happens later, when a view is shown or a command runs.
 */
const features: readonly (readonly [name: string, register: Feature])[] = [
  ['output', registerOutputFeatures],
  ['recordings', registerRecordingsFeatures],
  ['qmp', registerQmpFeatures],
  ['debug', registerDebugFeatures],
  ['lab', registerLabFeatures],
  ['tasks', registerTaskFeatures],
  ['traceLines', registerTraceLines],
  ['migrationView', registerMigrationView],
  ['trace', (ctx) => registerTraceFeatures(ctx.extension, ctx.log)],
  ['vhostUser', (ctx) => registerVhostUserFeatures(ctx.extension, ctx.log)],
  ['traceEventsLanguage', registerLanguageClient],
  ['welcome', registerWelcome],
];

/**
 * How long deactivate waits for lab runs to end their processes gracefully (VS Code gives an
 * extension 5 s to deactivate before the host exits); what still runs then is killed.
 */
const WIND_DOWN_MS = 4000;

let current: { lifetime: Scope; log: vscode.LogOutputChannel; onExit: () => void } | undefined;

/** Last resort when the host exits without deactivate finishing: no process group outlives it. */
function killLeftovers(): void {
  signalRunningGroups('SIGKILL');
}

export function activate(extension: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel(outputChannelName, { log: true });
  const recordingCreated = new vscode.EventEmitter<vscode.Uri>();
  const lifetime = new Scope('extension');
  extension.subscriptions.push(log, recordingCreated, lifetime);
  setStorage(extension);
  const ctx: WorkbenchContext = { extension, subscriptions: extension.subscriptions, lifetime, log, recordingCreated };
  current = { lifetime, log, onExit: killLeftovers };
  process.on('exit', killLeftovers);

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

/**
 * Ends the extension's lifetime: lab runs, follows, reads and their processes are aborted
 * and given WIND_DOWN_MS to stop their process groups and remove their sockets; process
 * groups still running after that are killed. Registrations in the subscriptions are
 * disposed by VS Code.
 */
export async function deactivate(): Promise<void> {
  const c = current;
  current = undefined;
  if (!c) return;
  try {
    c.lifetime.dispose();
  } catch (e) {
    c.log.error(`deactivate: ${e instanceof Error ? e.message : String(e)}`);
  }
  const ended = await c.lifetime.settled(WIND_DOWN_MS);
  const killed = signalRunningGroups('SIGKILL');
  if (!ended || killed.length) c.log.warn(`deactivate: killed process groups ${killed.join(', ') || '(none left)'} that did not stop in ${WIND_DOWN_MS} ms`);
  process.off('exit', c.onExit);
}
