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

/** Lines as one JSON-lines text, for saving a buffered recording. */
export function toJsonLines(lines: readonly TranscriptLine[]): string {
  return lines.map((l) => JSON.stringify(l)).join('\n') + (lines.length > 0 ? '\n' : '');
}
