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
  /** Set when the message's body was left out (the schema reply); says what it was. */
  elided?: string;
}

/** Replies left out of the journal: large and the same for every run of a binary. */
const elidedReplies = new Set(['query-qmp-schema']);

/**
 * qmp.jsonl: every QMP message of both sides in the order this process saw them. Written
 * synchronously, line by line, so the file is complete even when the run ends abruptly.
 */
export class QmpJournal {
  private fd: number | undefined;
  lines = 0;
  /** Ids (per side) of commands whose replies are elided. */
  private readonly elideIds = new Set<string>();

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
      const m = isRecord(e.message) ? e.message : undefined;
      const key = `${side}:${JSON.stringify(m?.['id'] ?? null)}`;
      if (e.kind === 'command' && typeof m?.['execute'] === 'string' && elidedReplies.has(m['execute'])) this.elideIds.add(key);
      else if (e.kind === 'reply' && this.elideIds.delete(key)) {
        const ret = m?.['return'];
        line.message = { id: m?.['id'] };
        line.elided = `reply of ${Array.isArray(ret) ? ret.length : '?'} entries, ${JSON.stringify(ret ?? null).length} bytes`;
      }
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

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
