import type { QmpEvent } from '../../core/qmp/messages';
import { progressOf, summaryLine } from '../../core/monitor/samples';
import type { MigrationMonitor } from '../../core/monitor/monitor';
import type { CliIo } from '../command';

export function progressBar(fraction: number | undefined, width = 30): string {
  if (fraction === undefined) return `[${' '.repeat(width)}]`;
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}%`;
}

/** QEMU's event time as ISO-8601 UTC, or the raw numbers when they are no representable time. */
export function eventTime(t: QmpEvent['timestamp']): string {
  const ms = t.seconds * 1000 + t.microseconds / 1000;
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? `(timestamp ${t.seconds}.${t.microseconds} out of range)` : d.toISOString();
}

export function eventLine(label: string, e: QmpEvent): string {
  const ts = eventTime(e.timestamp);
  return `${ts} ${label} ${e.event}${Object.keys(e.data ?? {}).length ? ` ${JSON.stringify(e.data)}` : ''}`;
}

export function statusLines(label: string, m: MigrationMonitor): string[] {
  const lines = [`${label}: ${progressBar(progressOf(m.migration))} ${summaryLine(m.migration)}`];
  for (const w of m.warnings()) lines.push(`${label}: warning: ${w.message}`);
  if (m.pollError !== undefined) lines.push(`${label}: polling failed: ${m.pollError}`);
  return lines;
}

/**
 * Terminal output of the live model: on a TTY the status block is redrawn in place below the
 * event lines; otherwise a status line is printed only when it changes.
 */
export class LiveView {
  private drawn = 0;
  private lastPlain = '';

  constructor(private readonly io: CliIo) {}

  /** Prints lines that scroll (events, steps) above the status block. */
  log(line: string): void {
    this.clear();
    this.io.out(line + '\n');
  }

  status(lines: string[]): void {
    if (!this.io.isTty) {
      const text = lines.join('\n');
      if (text !== this.lastPlain) this.io.out(text + '\n');
      this.lastPlain = text;
      return;
    }
    this.clear();
    for (const l of lines) {
      this.control('\x1b[2K');
      this.io.out(l + '\n');
    }
    this.drawn = lines.length;
  }

  private control(sequence: string): void {
    if (this.io.control) this.io.control(sequence);
    else this.io.out(sequence);
  }

  private clear(): void {
    if (!this.io.isTty || this.drawn === 0) return;
    this.control(`\x1b[${this.drawn}A\x1b[0J`);
    this.drawn = 0;
  }
}
