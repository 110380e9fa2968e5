/**
 * The client of the trace-events language server (dist/traceEventsServer.js, its own
 * process): trace-events files, the C files that call their events, and the vhost-user
 * spec. The server is restarted when it dies; the first restart says so.
 */
import * as vscode from 'vscode';
import {
  CloseAction, ErrorAction, LanguageClient, State, TransportKind,
  type CloseHandlerResult, type ErrorHandler, type ErrorHandlerResult, type LanguageClientOptions, type ServerOptions,
} from 'vscode-languageclient/node';
import type { WorkbenchContext } from '../context';
import { qemuSourceDir } from '../config';
import { indexStatusNotification, type IndexStatus, type InitializationOptions } from '../../server/protocol';

export const SHOW_CALL_SITES_COMMAND = 'qemuMigration.traceEvents.showCallSites';
/** Restarts allowed within the window below before the client gives up. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 3 * 60_000;

class RestartingErrorHandler implements ErrorHandler {
  private restarts: number[] = [];
  private told = false;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  error(): ErrorHandlerResult {
    return { action: ErrorAction.Continue, handled: true };
  }

  closed(): CloseHandlerResult {
    const now = Date.now();
    this.restarts = this.restarts.filter((t) => now - t < RESTART_WINDOW_MS);
    if (this.restarts.length >= MAX_RESTARTS) {
      this.log.error(`trace-events language server stopped ${MAX_RESTARTS} times in ${RESTART_WINDOW_MS / 60_000} minutes; not restarting it`);
      return { action: CloseAction.DoNotRestart, message: `The trace-events language server stopped ${MAX_RESTARTS} times in a few minutes and is not restarted. Reload the window to try again; see the "QEMU Migration" output.` };
    }
    this.restarts.push(now);
    this.log.warn('trace-events language server stopped; restarting it');
    if (this.told) return { action: CloseAction.Restart, handled: true };
    this.told = true;
    void vscode.window.showWarningMessage('The trace-events language server stopped and was restarted.');
    return { action: CloseAction.Restart, handled: true };
  }
}

function statusText(s: IndexStatus): string {
  if (s.state === 'indexing') return `$(sync~spin) trace calls: ${s.callSites}…`;
  if (s.state === 'failed') return '$(warning) trace calls';
  return `$(symbol-event) ${s.callSites} trace calls`;
}

export function registerLanguageClient(ctx: WorkbenchContext): void {
  const module = ctx.extension.asAbsolutePath('dist/traceEventsServer.js');
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6011'] } },
  };
  const initializationOptions: InitializationOptions = { ...(qemuSourceDir() ? { qemuSourceDir: qemuSourceDir() } : {}) };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'qemu-trace-events' },
      { scheme: 'file', language: 'c' },
      { scheme: 'file', pattern: '**/vhost-user.{rst,txt}' },
    ],
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher('**/{trace-events,*.c,*.h,*.inc}') },
    initializationOptions,
    outputChannel: ctx.log,
    errorHandler: new RestartingErrorHandler(ctx.log),
  };
  const client = new LanguageClient('qemuTraceEvents', 'QEMU trace-events', serverOptions, clientOptions);

  const item = vscode.window.createStatusBarItem('qemuMigration.traceCalls', vscode.StatusBarAlignment.Left, 0);
  item.name = 'QEMU trace call index';
  ctx.subscriptions.push(item);
  ctx.subscriptions.push(client.onNotification(indexStatusNotification, (s) => {
    item.text = statusText(s);
    item.tooltip = s.state === 'ready' ? `${s.callSites} trace_…() calls of ${s.events} events, in ${s.cFiles} C files (indexed in ${(s.ms / 1000).toFixed(1)} s)` : s.message ?? 'indexing the C files of the workspace for trace_…() calls';
    // A workspace without trace-events files or trace calls has nothing to show.
    if (s.state === 'ready' && s.traceEventsFiles === 0 && s.callSites === 0) item.hide(); else item.show();
  }));
  ctx.subscriptions.push(client.onDidChangeState((e) => {
    if (e.newState === State.Stopped) item.hide();
  }));

  ctx.subscriptions.push(vscode.commands.registerCommand(SHOW_CALL_SITES_COMMAND, async (uri: unknown, position: unknown) => {
    if (typeof uri !== 'string' || typeof position !== 'object' || position === null) return;
    const { line, character } = position as { line?: unknown; character?: unknown };
    if (typeof line !== 'number' || typeof character !== 'number') return;
    const u = vscode.Uri.parse(uri);
    const pos = new vscode.Position(line, character);
    const locations = await vscode.commands.executeCommand<vscode.Location[]>('vscode.executeReferenceProvider', u, pos);
    await vscode.commands.executeCommand('editor.action.showReferences', u, pos, locations ?? []);
  }));

  // Stopping the client ends the server process; deactivate waits for it (lifetime.settled).
  ctx.lifetime.add({ dispose: () => { void ctx.lifetime.track(client.stop(2000)); } });
  client.start().catch((e: unknown) => ctx.log.error(`trace-events language server did not start: ${e instanceof Error ? e.message : String(e)}`));
}
