import * as vscode from 'vscode';
import { ConnectionManager, type ConnectionSpec, type ManagedConnection, type SpecStore } from '../../core/monitor/connectionManager';
import { RecordingBuffer } from '../../core/monitor/recording';
import type { TranscriptLine } from '../../core/monitor/transcriptLine';
import type { QmpTranscriptEntry } from '../../core/qmp/messages';
import type { Scope } from '../scope';

/** Polling commands kept out of the output channels (they run several times a second). */
const quietCommands = new Set(['query-migrate', 'query-status', 'query-jobs', 'query-migrationthreads']);
const storeKey = 'qemuMigration.qmpConnections';

function commandOf(message: unknown): string | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const m = message as Record<string, unknown>;
  const c = m['execute'] ?? m['exec-oob'];
  return typeof c === 'string' ? c : undefined;
}

/**
 * The QMP state of a window: the connection manager (persisted in workspace state), one output
 * channel per connection, and a bounded transcript per connection for "Save Recording".
 * Each connection has a cleanup scope (a child of the window's QMP scope) that holds what was
 * opened for it (its output channel, its live charts): forgetting the connection disposes it.
 */
export class QmpSession implements vscode.Disposable {
  readonly manager: ConnectionManager;
  private readonly scopes = new Map<string, Scope>();
  private readonly channels = new Map<string, vscode.OutputChannel>();
  private readonly transcripts = new RecordingBuffer();
  /** Ids of polling commands in flight, whose replies are kept out of the output channel too. */
  private readonly quietIds = new Set<unknown>();

  constructor(private readonly memento: vscode.Memento, private readonly lifetime: Scope) {
    const store: SpecStore = {
      load: () => memento.get<ConnectionSpec[]>(storeKey, []),
      save: (specs) => memento.update(storeKey, specs),
    };
    this.manager = new ConnectionManager({ store, onTranscript: (spec, e) => this.onTranscript(spec, e) });
  }

  /** The cleanup scope of one connection, made on first use. */
  connectionScope(id: string): Scope {
    let s = this.scopes.get(id);
    if (!s) {
      s = this.lifetime.child(`connection ${id}`);
      const made = s;
      made.onDispose(() => { if (this.scopes.get(id) === made) this.scopes.delete(id); });
      this.scopes.set(id, made);
    }
    return s;
  }

  channel(spec: ConnectionSpec): vscode.OutputChannel {
    let ch = this.channels.get(spec.id);
    if (!ch) {
      const made = vscode.window.createOutputChannel(`QMP: ${spec.label}`);
      const scope = this.connectionScope(spec.id);
      scope.add(made);
      scope.onDispose(() => this.channels.delete(spec.id));
      this.channels.set(spec.id, made);
      ch = made;
    }
    return ch;
  }

  transcript(id: string): TranscriptLine[] {
    return this.transcripts.lines(id);
  }

  connected(): ManagedConnection[] {
    return this.manager.list().filter((c) => c.monitor !== undefined);
  }

  private onTranscript(spec: ConnectionSpec, e: QmpTranscriptEntry): void {
    this.transcripts.record(spec, e);
    const msg = e.message as Record<string, unknown> | undefined;
    const cmd = commandOf(e.message);
    if (e.kind === 'command' && cmd !== undefined && quietCommands.has(cmd)) {
      this.quietIds.add(msg?.['id']);
      return;
    }
    if ((e.kind === 'reply' || e.kind === 'error') && msg && this.quietIds.delete(msg['id']) && e.kind === 'reply') return;
    const arrow = e.direction === 'out' ? '→' : '←';
    this.channel(spec).appendLine(`${new Date(e.time).toISOString()} ${arrow} ${JSON.stringify(e.message)}`);
  }

  /** Removes the connection and disposes everything opened for it (output channel, live charts). */
  async forget(id: string): Promise<void> {
    await this.manager.remove(id);
    this.scopes.get(id)?.dispose();
    this.transcripts.forget(id);
  }

  dispose(): void {
    void this.manager.dispose();
    this.lifetime.dispose();
  }
}
