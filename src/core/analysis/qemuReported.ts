/**
 * QEMU's own totals of a recorded migration, read from what the recording holds: the final
 * `query-migrate` of each side (a lab recording's final-query-migrate-<side>.json), else the
 * last `query-migrate` reply of that side in the QMP transcript; the wall-clock time of the
 * migration from the transcript; and the byte counters QEMU traces itself
 * (migration_transferred_bytes). These are recorded files, so every value is checked: a
 * member of the wrong type is left out (null), never trusted.
 */
import type { TraceStore } from '../trace/store';
import type { QemuFigures, QemuReport, ReportedDowntime, Side } from './model';
import { rowsOf } from './tableAccess';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (o: Json | undefined, key: string): number | null => {
  const v = o?.[key];
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null;
};

/** The figures of one query-migrate reply (its `return` object); null when it is not one. */
export function figuresOf(side: Side, from: string, reply: unknown): QemuFigures | null {
  if (!isObject(reply) || typeof reply.status !== 'string') return null;
  const ram = isObject(reply.ram) ? reply.ram : undefined;
  return {
    side, from, status: reply.status,
    totalTimeMs: num(reply, 'total-time'), setupTimeMs: num(reply, 'setup-time'), downtimeMs: num(reply, 'downtime'),
    multifdBytes: num(ram, 'multifd-bytes'), normalPages: num(ram, 'normal'), zeroPages: num(ram, 'duplicate'),
    transferredBytes: num(ram, 'transferred'), pageSize: num(ram, 'page-size'), postcopyRequests: num(ram, 'postcopy-requests'),
    postcopyBlocktimeMs: num(reply, 'postcopy-blocktime'),
  };
}

interface TranscriptRecord { side: Side; kind: string; ms: number | null; message: Json }

/** The transcript's records (the lab's {side, kind, ms, message}, or {side, kind, unix, msg} with replies of kind 'return'); bad lines are skipped. */
/** The last transcript parsed: follow mode builds a model from the same transcript text several times a second. */
let parsed: { text: string; records: TranscriptRecord[] } | null = null;

function records(jsonl: string): TranscriptRecord[] {
  if (parsed?.text === jsonl) return parsed.records;
  const out: TranscriptRecord[] = [];
  for (const text of jsonl.split('\n')) {
    if (!text.trim()) continue;
    let r: unknown;
    try { r = JSON.parse(text); } catch { continue; }
    if (!isObject(r)) continue;
    const message = r.message ?? r.msg;
    if (!isObject(message) || typeof r.kind !== 'string') continue;
    const ms = typeof r.ms === 'number' ? r.ms : typeof r.unix === 'number' ? r.unix * 1000 : null;
    out.push({ side: r.side === 'dst' ? 'dst' : 'src', kind: r.kind, ms: ms !== null && Number.isFinite(ms) ? ms : null, message });
  }
  parsed = { text: jsonl, records: out };
  return out;
}

const clock = (ms: number | null): string => (ms === null ? '' : ` of ${new Date(ms).toISOString().slice(11, 23)}`);

/** The last query-migrate reply of each side (matched to its command by id), as figures. */
export function lastQueryMigrate(jsonl: string, name: string): { src: QemuFigures | null; dst: QemuFigures | null } {
  const asked = { src: new Set<string>(), dst: new Set<string>() };
  const last: { src: QemuFigures | null; dst: QemuFigures | null } = { src: null, dst: null };
  for (const r of records(jsonl)) {
    const id = JSON.stringify(r.message.id ?? null);
    if (r.kind === 'command' && r.message.execute === 'query-migrate') asked[r.side].add(id);
    else if ((r.kind === 'reply' || r.kind === 'return') && asked[r.side].has(id)) {
      asked[r.side].delete(id);
      last[r.side] = figuresOf(r.side, `${name} (query-migrate reply${clock(r.ms)})`, r.message.return) ?? last[r.side];
    }
  }
  return last;
}

/** The source's migrate command to its first MIGRATION event that ends the migration. */
export function wallTime(jsonl: string): QemuReport['wall'] {
  let start: number | null = null;
  for (const r of records(jsonl)) {
    if (r.side !== 'src' || r.ms === null) continue;
    if (r.kind === 'command' && r.message.execute === 'migrate') start = r.ms;
    if (start !== null && r.kind === 'event' && r.message.event === 'MIGRATION') {
      const status = isObject(r.message.data) ? r.message.data.status : undefined;
      if (status === 'completed' || status === 'failed' || status === 'cancelled') return { startMs: start, endMs: r.ms, status };
    }
  }
  return null;
}

/** The source's max-bandwidth in force when it started migrating: its last migrate-set-parameters that set it before migrate. */
export function maxBandwidth(jsonl: string, name: string): QemuReport['maxBandwidth'] {
  let found: QemuReport['maxBandwidth'] = null;
  for (const r of records(jsonl)) {
    if (r.side !== 'src' || r.kind !== 'command') continue;
    if (r.message.execute === 'migrate') break;
    const v = r.message.execute === 'migrate-set-parameters' && isObject(r.message.arguments) ? num(r.message.arguments, 'max-bandwidth') : null;
    if (v !== null) found = { bytesPerSecond: v, from: `${name} (migrate-set-parameters${clock(r.ms)})` };
  }
  return found;
}

/** The event tracedCounters reads, of which only the last row counts (follow mode keeps that one). */
export const TRACED_COUNTERS_EVENT = 'migration_transferred_bytes';

/** The last migration_transferred_bytes of a source trace (QEMU's own counters, traced by newer QEMUs). */
export function tracedCounters(store: TraceStore): QemuReport['tracedCounters'] {
  const t = rowsOf(store, TRACED_COUNTERS_EVENT);
  if (!t || !t.hasField('qemu_file') || !t.hasField('multifd')) return null;
  const i = t.count - 1;
  const rdma = t.hasField('rdma') ? t.column('rdma').number(i) : 0;
  return { qemuFile: t.column('qemu_file').number(i), multifd: t.column('multifd').number(i), rdma, line: t.line(i) };
}

/** The downtime QEMU reported on the source once the migration completed (the downtime panel's reference). */
export function reportedDowntime(src: QemuFigures | null): ReportedDowntime | null {
  return src?.status === 'completed' && src.downtimeMs !== null ? { ms: src.downtimeMs, from: src.from } : null;
}
