import { closeSync, openSync, writeSync } from 'node:fs';
import type { QmpTranscriptEntry } from '../qmp/messages';
import type { LabSide } from './errors';

/** One line of qmp.jsonl. */
export interface QmpJournalLine {
  /** Wall clock, ISO 8601 (UTC). */
  time: string;
  /** Wall clock, ms since the epoch (Date.now()). */
  ms: number;
  side: LabSide;
  direction: 'out' | 'in';
  kind: QmpTranscriptEntry['kind'];
  message: unknown;
}

/**
 * qmp.jsonl: every QMP message of both sides in the order this process saw them. Written
 * synchronously, line by line, so the file is complete even when the run ends abruptly.
 */
export class QmpJournal {
  private fd: number | undefined;
  lines = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  /** A transcript callback for QmpClient.connect that tags entries with `side`. */
  forSide(side: LabSide): (e: QmpTranscriptEntry) => void {
    return (e) => {
      const line: QmpJournalLine = {
        time: new Date(e.time).toISOString(),
        ms: e.time,
        side,
        direction: e.direction,
        kind: e.kind,
        message: e.message,
      };
      this.write(line);
    };
  }

  private write(line: QmpJournalLine): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, JSON.stringify(line) + '\n');
    this.lines++;
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}
