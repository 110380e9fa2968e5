import * as vscode from 'vscode';
import { progressOf, secondsLeft } from '../../core/monitor/samples';
import { formatSeconds } from '../../core/units';
import type { QmpSession } from './session';

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** One status bar item for the migration in progress (the source's first), hidden when none is. */
export class MigrationStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('qemuMigration.migrationStatus', vscode.StatusBarAlignment.Left, 50);
  /** Keeps showing the last result for a while after a migration ends. */
  private lastEnded: { text: string; until: number } | undefined;
  /** Last status seen per connection: a migration that starts and ends between two polls still counts as ended. */
  private readonly lastStatus = new Map<string, string>();

  constructor(private readonly session: QmpSession) {
    this.item.name = 'QEMU Migration';
    this.item.command = 'qemuMigration.openLiveChart';
  }

  update(): void {
    const conns = this.session.connected().sort((a, b) => Number(b.spec.role === 'source') - Number(a.spec.role === 'source'));
    const active = conns.find((c) => c.monitor?.active);
    let ended: string | undefined;
    for (const c of conns) {
      const m = c.monitor;
      if (!m) continue;
      const before = this.lastStatus.get(c.spec.id);
      this.lastStatus.set(c.spec.id, m.status);
      // Source first: when both sides end in the same update, the source's result is shown.
      if (!m.active && before !== undefined && before !== m.status && TERMINAL.has(m.status) && !TERMINAL.has(before)) {
        ended ??= `${c.spec.label}: migration ${m.status}`;
      }
    }
    if (ended !== undefined) this.lastEnded = { text: ended, until: Date.now() + 30_000 };
    if (active?.monitor) {
      const m = active.monitor;
      const p = progressOf(m.migration);
      const left = secondsLeft(m.migration);
      this.item.text = `$(sync~spin) ${active.spec.label}: ${m.status}${p !== undefined ? ` ${Math.round(p * 100)}%` : ''}${left !== undefined ? ` ~${formatSeconds(left)} left` : ''}`;
      this.item.tooltip = `QEMU migration on ${active.spec.label} (${active.spec.address}); click for the live chart`;
      this.item.show();
    } else if (this.lastEnded && this.lastEnded.until > Date.now()) {
      this.item.text = `$(check) ${this.lastEnded.text}`;
      this.item.show();
    } else {
      this.item.hide();
    }
  }

  dispose(): void {
    this.item.dispose();
  }
}
