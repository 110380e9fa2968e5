/**
 * Migration phases: state transitions from the traces (migrate_set_state and the
 * migration/postcopy milestones) and from a recorded QMP transcript (MIGRATION events).
 */
import type { TraceStore } from '../trace/store';
import type { Phase, Side } from './model';
import { rowsOf, strings } from './tableAccess';

/** Milestone events shown on the phase bar besides state changes, with the label they get. */
const MILESTONES: readonly [string, string][] = [
  ['postcopy_start', 'postcopy start'],
  ['migration_completion_vm_stop', 'vm stop'],
  ['loadvm_postcopy_handle_run', 'postcopy run'],
  ['migration_thread_low_pending', 'low pending'],
];

/** The events tracePhases reads (follow mode keeps their rows). */
export const PHASE_EVENTS: readonly string[] = ['migrate_set_state', ...MILESTONES.map(([name]) => name)];

export function tracePhases(store: TraceStore, side: Side, offsetNs: number): Phase[] {
  const out: Phase[] = [];
  const st = rowsOf(store, 'migrate_set_state');
  if (st) {
    const states = strings(st, ['new_state']);
    for (let i = 0; i < st.count; i++) out.push({ t: st.ts.data[i]! + offsetNs, side, state: states[i]!, from: 'trace', line: st.line(i) });
  }
  for (const [name, label] of MILESTONES) {
    const t = rowsOf(store, name);
    if (t) for (let i = 0; i < t.count; i++) out.push({ t: t.ts.data[i]! + offsetNs, side, state: label, from: 'trace', line: t.line(i) });
  }
  return out.sort((a, b) => a.t - b.t);
}

interface QmpEventLike { event?: unknown; data?: unknown; timestamp?: { seconds?: unknown; microseconds?: unknown } }

function eventTimeNs(rec: Record<string, unknown>, ev: QmpEventLike): bigint | null {
  const ts = ev.timestamp;
  if (ts && typeof ts.seconds === 'number' && typeof ts.microseconds === 'number') return BigInt(ts.seconds) * 1_000_000_000n + BigInt(ts.microseconds) * 1000n;
  if (typeof rec.unix === 'number') return BigInt(Math.round(rec.unix * 1e6)) * 1000n;
  if (typeof rec.ms === 'number') return BigInt(Math.round(rec.ms)) * 1_000_000n;
  return null;
}

/**
 * MIGRATION and MIGRATION_PASS events of a transcript (one JSON object per line, either
 * the lab's {side, kind, message} or {side, kind, msg, unix}), relative to originNs.
 */
export function qmpPhases(jsonl: string, originNs: bigint): Phase[] {
  const out: Phase[] = [];
  for (const text of jsonl.split('\n')) {
    if (!text.trim()) continue;
    let rec: unknown;
    try { rec = JSON.parse(text); } catch { continue; }
    if (typeof rec !== 'object' || rec === null) continue;
    const r = rec as Record<string, unknown>;
    if (r.kind !== 'event') continue;
    const ev = (r.message ?? r.msg) as QmpEventLike | undefined;
    if (!ev || (ev.event !== 'MIGRATION' && ev.event !== 'MIGRATION_PASS')) continue;
    const side: Side = r.side === 'dst' ? 'dst' : 'src';
    const data = (ev.data ?? {}) as Record<string, unknown>;
    const state = ev.event === 'MIGRATION' ? String(data.status ?? '?') : `pass ${String(data.pass ?? '?')}`;
    const t = eventTimeNs(r, ev);
    if (t === null) continue;
    out.push({ t: Number(t - originNs), side, state, from: 'qmp', line: 0 });
  }
  return out.sort((a, b) => a.t - b.t);
}
