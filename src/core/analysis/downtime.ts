/**
 * Where the downtime went: QEMU (8.2+) traces the stop-and-copy as checkpoints
 * (vmstate_downtime_checkpoint: src-downtime-start, src-vm-stopped, ..., dst-precopy-bh-vm-started)
 * and the time each device spent in its save handler (vmstate_downtime_save, source) or load
 * handler (vmstate_downtime_load, destination). This turns them into a waterfall per side on
 * the shared time axis, and puts the total beside the `downtime` query-migrate reported.
 *
 * Plain data, no DOM and no Node: shared by the loader, the CLI and the webview.
 */
import type { TraceStore } from '../trace/store';
import type { DowntimeCheckpoint, DowntimeData, DowntimeDevice, DowntimeSide, ReportedDowntime, Side } from './model';
import { numbers, rowsOf, strings } from './tableAccess';

const SAVE = 'vmstate_downtime_save';
const LOAD = 'vmstate_downtime_load';
const CHECKPOINT = 'vmstate_downtime_checkpoint';
/** The events analyzeDowntime reads (follow mode keeps their rows). */
export const DOWNTIME_EVENTS: readonly string[] = [SAVE, LOAD, CHECKPOINT];
/** The release that added the vmstate_downtime_* events. */
const FIRST_VERSION: readonly [number, number] = [8, 2];

/** Checkpoints that close a stop-and-copy on their side: no phase runs from them to the next one. */
export const isRoundEnd = (name: string): boolean => name === 'src-downtime-end' || name.endsWith('-vm-started');

function versionAtLeast(version: string, [major, minor]: readonly [number, number]): boolean | null {
  const m = /^v?(\d+)\.(\d+)/.exec(version);
  if (!m) return null;
  const a = Number(m[1]), b = Number(m[2]);
  return a > major || (a === major && b >= minor);
}

/**
 * One side's devices and checkpoints, times moved onto the shared axis by offsetNs.
 * qemuVersion names the QEMU that wrote the trace; it decides what an absence means.
 */
export function analyzeDowntimeSide(store: TraceStore, side: Side, offsetNs: number, qemuVersion: string): DowntimeSide {
  const event = side === 'src' ? SAVE : LOAD;
  // A catalogue without these events leaves their lines in a table of undecoded text.
  const decoded = (name: string): ReturnType<typeof rowsOf> => { const t = rowsOf(store, name); return t?.unknown ? undefined : t; };
  const dev = decoded(event);
  const cp = decoded(CHECKPOINT);
  const base = { side, qemuVersion };
  if (!dev && !cp) {
    const unknown = [event, CHECKPOINT].some((n) => store.table(n)?.unknown === true);
    if (unknown) {
      return { ...base, status: 'unknown-to-catalogue', devices: [], checkpoints: [], note: `The trace has ${event} lines but the catalogue that decoded it does not know the event: decode it with a QEMU 8.2 or newer catalogue (--qemu-version).` };
    }
    if (versionAtLeast(qemuVersion, FIRST_VERSION) === false) {
      return { ...base, status: 'not-in-version', devices: [], checkpoints: [], note: `QEMU ${qemuVersion} has no vmstate_downtime_* trace events (they came in QEMU 8.2).` };
    }
    return { ...base, status: 'not-enabled', devices: [], checkpoints: [], note: `The ${side === 'src' ? 'source' : 'destination'} trace has no vmstate_downtime_* events: they were not enabled (-trace enable=vmstate_downtime_*).` };
  }
  const devices: DowntimeDevice[] = [];
  if (dev) {
    const type = strings(dev, ['type']), idstr = strings(dev, ['idstr']);
    const inst = numbers(dev, ['instance_id']), us = numbers(dev, ['downtime']);
    for (let i = 0; i < dev.count; i++) {
      const endNs = dev.ts.data[i]! + offsetNs;
      devices.push({ type: type[i]!, idstr: idstr[i]!, instanceId: inst[i]!, us: us[i]!, startNs: endNs - us[i]! * 1000, endNs, line: dev.line(i) });
    }
    devices.sort((a, b) => a.startNs - b.startNs || a.line - b.line);
  }
  const checkpoints: DowntimeCheckpoint[] = [];
  if (cp) {
    const names = strings(cp, ['checkpoint']);
    for (let i = 0; i < cp.count; i++) checkpoints.push({ name: names[i]!, t: cp.ts.data[i]! + offsetNs, line: cp.line(i) });
    checkpoints.sort((a, b) => a.t - b.t || a.line - b.line);
  }
  return { ...base, status: 'traced', note: null, devices, checkpoints };
}

interface TranscriptRecord { side?: unknown; kind?: unknown; message?: unknown; msg?: unknown }

function records(jsonl: string | null): TranscriptRecord[] {
  const out: TranscriptRecord[] = [];
  for (const text of (jsonl ?? '').split('\n')) {
    if (!text.trim()) continue;
    try {
      const r: unknown = JSON.parse(text);
      if (typeof r === 'object' && r !== null) out.push(r as TranscriptRecord);
    } catch { /* a torn last line of a transcript still being written */ }
  }
  return out;
}

const objectAt = (o: unknown, key: string): Record<string, unknown> | null => {
  const v = typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[key] : undefined;
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : null;
};

/** QEMU version per side from the QMP greetings of a transcript ("10.0.2"). */
export function greetingVersions(transcript: string | null): Partial<Record<Side, string>> {
  const out: Partial<Record<Side, string>> = {};
  for (const r of records(transcript)) {
    if (r.kind !== 'greeting' || (r.side !== 'src' && r.side !== 'dst')) continue;
    const q = objectAt(objectAt(objectAt(r.message ?? r.msg, 'QMP'), 'version'), 'qemu');
    if (q && [q.major, q.minor, q.micro].every((x) => typeof x === 'number')) out[r.side] = `${String(q.major)}.${String(q.minor)}.${String(q.micro)}`;
  }
  return out;
}

export interface DowntimeInput {
  readonly store: TraceStore;
  readonly side: Side;
  readonly offsetNs: number;
  /** The version the catalogue guess named, used when no QMP greeting says better. */
  readonly version: string;
}

/**
 * The model's downtime part for the loaded traces (at most one per side); reported is the
 * source's query-migrate downtime after completion (qemuReported.ts reads it).
 */
export function analyzeDowntime(traces: readonly DowntimeInput[], transcript: string | null, reported: ReportedDowntime | null): DowntimeData {
  const greeted = greetingVersions(transcript);
  const side = (s: Side): DowntimeSide | null => {
    const t = traces.find((x) => x.side === s);
    return t ? analyzeDowntimeSide(t.store, s, t.offsetNs, greeted[s] ?? t.version) : null;
  };
  return {
    source: side('src'),
    destination: side('dst'),
    reported,
    sameClock: traces.length === 2 && traces.every((t) => t.store.timeKind === 'realtime'),
  };
}

// ---------------------------------------------------------------------------- range summary

/** The time between two consecutive checkpoints of one side. */
export interface DowntimePhase {
  readonly from: string;
  readonly to: string;
  readonly startNs: number;
  readonly endNs: number;
  readonly line: number;
}

export interface DowntimeSideSummary {
  readonly side: Side;
  readonly status: DowntimeSide['status'];
  readonly qemuVersion: string;
  readonly note: string | null;
  readonly devices: readonly DowntimeDevice[];
  readonly checkpoints: readonly DowntimeCheckpoint[];
  readonly phases: readonly DowntimePhase[];
  /** Sum of every device's µs in the range; null when the trace cannot tell. */
  readonly totalUs: number | null;
  readonly iterableUs: number | null;
  readonly nonIterableUs: number | null;
  /**
   * The stop-and-copy as this side's checkpoints bound it, µs: source src-downtime-start →
   * src-downtime-end (what query-migrate's downtime measures, in ms), destination first device
   * load → *-vm-started. Of the last such window in the range; null when an end is missing.
   */
  readonly window: { readonly from: string; readonly to: string; readonly startNs: number; readonly endNs: number; readonly us: number } | null;
  /** How many stop-and-copy rounds start in the range (src-downtime-start, or *-vm-started on the destination). */
  readonly rounds: number;
}

/** One device on both sides: what the source's save and the destination's load took. */
export interface DevicePair {
  readonly type: string;
  readonly idstr: string;
  readonly instanceId: number;
  /** null when that side did not trace this device (or its trace is not loaded). */
  readonly saveUs: number | null;
  readonly loadUs: number | null;
}

export interface DowntimeSummary {
  readonly source: DowntimeSideSummary | null;
  readonly destination: DowntimeSideSummary | null;
  readonly reported: ReportedDowntime | null;
  /** Source src-vm-stopped → destination *-vm-started (the guest's pause), µs; both traces on one clock only. */
  readonly stopToStartUs: number | null;
  /** Costliest first (the larger of save and load). */
  readonly pairs: readonly DevicePair[];
}

function sideSummary(d: DowntimeSide, t0: number, t1: number): DowntimeSideSummary {
  const devices = d.devices.filter((x) => x.endNs >= t0 && x.endNs < t1);
  const checkpoints = d.checkpoints.filter((c) => c.t >= t0 && c.t < t1);
  const phases: DowntimePhase[] = [];
  for (let i = 0; i + 1 < checkpoints.length; i++) {
    const a = checkpoints[i]!, b = checkpoints[i + 1]!;
    if (!isRoundEnd(a.name)) phases.push({ from: a.name, to: b.name, startNs: a.t, endNs: b.t, line: b.line });
  }
  const traced = d.status === 'traced';
  const sum = (pick: (x: DowntimeDevice) => boolean): number | null => (traced ? devices.reduce((n, x) => n + (pick(x) ? x.us : 0), 0) : null);
  let window: DowntimeSideSummary['window'] = null;
  let rounds = 0;
  if (d.side === 'src') {
    const starts = checkpoints.filter((c) => c.name === 'src-downtime-start');
    rounds = starts.length;
    const start = starts[starts.length - 1];
    const end = start && checkpoints.find((c) => c.name === 'src-downtime-end' && c.t >= start.t);
    if (start && end) window = { from: start.name, to: end.name, startNs: start.t, endNs: end.t, us: (end.t - start.t) / 1000 };
  } else {
    const ends = checkpoints.filter((c) => c.name.endsWith('-vm-started'));
    rounds = ends.length;
    const end = ends[ends.length - 1];
    const previousEnd = ends[ends.length - 2]?.t ?? -Infinity;
    const first = end && devices.find((x) => x.startNs > previousEnd && x.endNs <= end.t);
    if (end && first) window = { from: 'first device load', to: end.name, startNs: first.startNs, endNs: end.t, us: (end.t - first.startNs) / 1000 };
  }
  return {
    side: d.side, status: d.status, qemuVersion: d.qemuVersion, note: d.note, devices, checkpoints, phases,
    totalUs: sum(() => true), iterableUs: sum((x) => x.type === 'iterable'), nonIterableUs: sum((x) => x.type !== 'iterable'),
    window, rounds,
  };
}

const key = (x: { type: string; idstr: string; instanceId: number }): string => `${x.type}\u0000${x.idstr}\u0000${x.instanceId}`;

function pairsOf(src: DowntimeSideSummary | null, dst: DowntimeSideSummary | null): DevicePair[] {
  const m = new Map<string, { type: string; idstr: string; instanceId: number; saveUs: number | null; loadUs: number | null }>();
  const add = (x: DowntimeDevice, which: 'saveUs' | 'loadUs'): void => {
    const k = key(x);
    const p = m.get(k) ?? { type: x.type, idstr: x.idstr, instanceId: x.instanceId, saveUs: null, loadUs: null };
    p[which] = (p[which] ?? 0) + x.us;
    m.set(k, p);
  };
  for (const x of src?.devices ?? []) add(x, 'saveUs');
  for (const x of dst?.devices ?? []) add(x, 'loadUs');
  const cost = (p: DevicePair): number => Math.max(p.saveUs ?? 0, p.loadUs ?? 0);
  return [...m.values()].sort((a, b) => cost(b) - cost(a) || (a.idstr < b.idstr ? -1 : a.idstr > b.idstr ? 1 : a.instanceId - b.instanceId));
}

/** The waterfall of the events in [t0, t1) on the shared axis (everything by default). */
export function downtimeSummary(d: DowntimeData, t0 = -Infinity, t1 = Infinity): DowntimeSummary {
  const source = d.source && sideSummary(d.source, t0, t1);
  const destination = d.destination && sideSummary(d.destination, t0, t1);
  const stopped = source?.checkpoints.filter((c) => c.name === 'src-vm-stopped').at(-1);
  const started = stopped && destination?.checkpoints.find((c) => c.name.endsWith('-vm-started') && c.t >= stopped.t);
  return {
    source, destination, reported: d.reported,
    stopToStartUs: d.sameClock && stopped && started ? (started.t - stopped.t) / 1000 : null,
    pairs: pairsOf(source, destination),
  };
}

/** The device's name as a user reads it: idstr, with the instance when it is not 0. */
export const deviceName = (x: { idstr: string; instanceId: number }): string => (x.instanceId === 0 ? x.idstr : `${x.idstr} #${x.instanceId}`);
