import { writeFile } from 'node:fs/promises';
import type { QmpTranscriptEntry } from '../qmp/messages';
import type { Role } from './checks';
import { Ring } from './ring';
import { sideOfRole, toJsonLines, transcriptLine, type TranscriptLine } from './transcriptLine';

/**
 * What "Save Recording" of the live chart writes: every QMP message of one connection (the
 * `query-migrate` replies are the chart's samples; MIGRATION, MIGRATION_PASS, STOP and RESUME
 * are its markers) as JSON lines in the lab's qmp.jsonl format, under a name the migration
 * view's transcript reader picks up beside trace files (`qmp-*.jsonl`).
 */
export class RecordingBuffer {
  private readonly rings = new Map<string, Ring<TranscriptLine>>();

  /** `capacity` lines per connection; older ones are dropped. */
  constructor(readonly capacity = 50_000) {}

  record(spec: { id: string; label: string; role: Role }, e: QmpTranscriptEntry): void {
    let ring = this.rings.get(spec.id);
    if (!ring) {
      ring = new Ring(this.capacity);
      this.rings.set(spec.id, ring);
    }
    ring.push(transcriptLine(sideOfRole(spec.role), spec.label, e));
  }

  lines(id: string): TranscriptLine[] {
    return this.rings.get(id)?.toArray() ?? [];
  }

  forget(id: string): void {
    this.rings.delete(id);
  }
}

/** `qmp-<label>-<time>.jsonl`, with the label reduced to file-name characters. */
export function recordingFileName(label: string, at: Date): string {
  return `qmp-${label.replace(/[^\w.-]+/g, '_')}-${at.toISOString().replace(/[:.]/g, '-')}.jsonl`;
}

export async function writeRecording(path: string, lines: readonly TranscriptLine[]): Promise<void> {
  await writeFile(path, toJsonLines(lines));
}
