import { closeSync, openSync, writeSync } from 'node:fs';
import type { QmpTranscriptEntry } from '../qmp/messages';

/** One line of a QMP transcript; the same fields as the lab's qmp.jsonl, plus the connection label. */
export interface TranscriptLine {
  time: string;
  ms: number;
  side: string;
  label: string;
  direction: QmpTranscriptEntry['direction'];
  kind: QmpTranscriptEntry['kind'];
  message: unknown;
}

export function transcriptLine(side: string, label: string, e: QmpTranscriptEntry): TranscriptLine {
  return { time: new Date(e.time).toISOString(), ms: e.time, side, label, direction: e.direction, kind: e.kind, message: e.message };
}

/** Short side names the migration view pairs with trace files. */
export function sideOfRole(role: string): string {
  return role === 'source' ? 'src' : role === 'destination' ? 'dst' : role;
}

/** Writes transcript lines as JSON lines, synchronously, so the file is whole after a crash. */
export class TranscriptRecorder {
  private fd: number | undefined;
  lines = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  write(line: TranscriptLine): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, JSON.stringify(line) + '\n');
    this.lines++;
  }

  get open(): boolean {
    return this.fd !== undefined;
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Lines as one JSON-lines text, for saving a buffered recording. */
export function toJsonLines(lines: readonly TranscriptLine[]): string {
  return lines.map((l) => JSON.stringify(l)).join('\n') + (lines.length > 0 ? '\n' : '');
}
