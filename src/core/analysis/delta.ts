/**
 * What a followed trace's new lines changed in the model (LiveMigration.takeDelta), and how
 * it is put on the model the webview holds. New packets, faults, placements and shared
 * pages are merged into their sequences in (time, line) order, as the builders merged them;
 * latencies found for earlier faults are set; the small parts come whole. Plain data: the
 * host posts it (buffers transferred) and the webview applies it.
 */
import { emptyColumns, findRow, mergeRows, type ColumnsOf } from './growColumns';
import type { MigrationModel, MultifdSide, PacketColumns, PostcopyData } from './model';
import { PACKET_SCHEMA, type MultifdDelta } from './multifd';
import { FAULT_SCHEMA, PLACEMENT_SCHEMA, SHARED_SCHEMA, type PostcopyDelta } from './postcopy';

export type { MultifdDelta } from './multifd';
export type { PostcopyDelta } from './postcopy';

export interface MigrationDelta extends Pick<MigrationModel, 'originNs' | 'traces' | 'phases' | 'downtime' | 'qemu' | 'postcopyRequests'> {
  /** null: that side did not change. */
  readonly send: MultifdDelta | null;
  readonly recv: MultifdDelta | null;
  readonly postcopy: PostcopyDelta | null;
}

function slice(p: PacketColumns, a: number, b: number): PacketColumns {
  return { t: p.t.subarray(a, b), packetNum: p.packetNum.subarray(a, b), normal: p.normal.subarray(a, b), zero: p.zero.subarray(a, b), bytes: p.bytes.subarray(a, b), flags: p.flags.subarray(a, b), line: p.line.subarray(a, b) };
}

/** One side with a delta's packets merged into their lanes (new channels get new lanes). */
export function applyMultifdDelta(old: MultifdSide | null, d: MultifdDelta): MultifdSide {
  const lanes: PacketColumns[] = [];
  let at = 0;
  d.channels.forEach((c, k) => {
    const n = d.added.counts[k]!;
    const added = slice(d.added.packets, at, at + n);
    at += n;
    const ok = old ? old.channels.indexOf(c) : -1;
    const before = old && ok >= 0 ? slice(old.packets, old.laneStart[ok]!, old.laneStart[ok + 1]!) : emptyColumns(PACKET_SCHEMA);
    lanes.push(n === 0 ? before : mergeRows(PACKET_SCHEMA, before as ColumnsOf<typeof PACKET_SCHEMA>, added as ColumnsOf<typeof PACKET_SCHEMA>));
  });
  const laneStart = new Uint32Array(d.channels.length + 1);
  lanes.forEach((l, k) => { laneStart[k + 1] = laneStart[k]! + l.t.length; });
  const m = laneStart[d.channels.length]!;
  const packets: PacketColumns = { t: new Float64Array(m), packetNum: new Float64Array(m), normal: new Uint32Array(m), zero: new Uint32Array(m), bytes: new Uint32Array(m), flags: new Uint32Array(m), line: new Uint32Array(m) };
  lanes.forEach((l, k) => {
    for (const key of Object.keys(PACKET_SCHEMA) as (keyof PacketColumns)[]) packets[key].set(l[key] as never, laneStart[k]!);
  });
  return {
    side: d.side, format: d.format, knows: d.knows, channels: d.channels, laneStart, packets,
    syncs: [...(old?.syncs ?? []), ...d.syncs], threads: d.threads, crossCheck: d.crossCheck, limits: d.limits, bytesRule: d.bytesRule,
  };
}

/** The postcopy data with a delta's rows merged in and its latencies set. */
export function applyPostcopyDelta(old: PostcopyData | null, d: PostcopyDelta): PostcopyData {
  if (d.whole) return d.whole;
  const faults = mergeRows(FAULT_SCHEMA, (old?.faults ?? emptyColumns(FAULT_SCHEMA)) as ColumnsOf<typeof FAULT_SCHEMA>, d.faults as ColumnsOf<typeof FAULT_SCHEMA>);
  const u = d.latency;
  for (let k = 0; k < u.t.length; k++) {
    const i = findRow(faults.t, faults.line, faults.t.length, u.t[k]!, u.line[k]!);
    if (i >= 0) { faults.latencyNs[i] = u.latencyNs[k]!; faults.placedLine[i] = u.placedLine[k]!; }
  }
  return {
    ramBlocks: d.ramBlocks,
    faults,
    placements: mergeRows(PLACEMENT_SCHEMA, (old?.placements ?? emptyColumns(PLACEMENT_SCHEMA)) as ColumnsOf<typeof PLACEMENT_SCHEMA>, d.placements as ColumnsOf<typeof PLACEMENT_SCHEMA>),
    shared: mergeRows(SHARED_SCHEMA, (old?.shared ?? emptyColumns(SHARED_SCHEMA)) as ColumnsOf<typeof SHARED_SCHEMA>, d.shared as ColumnsOf<typeof SHARED_SCHEMA>),
    blocktimeTotal: d.blocktimeTotal, blocktimeEvents: d.blocktimeEvents, limits: d.limits,
  };
}

/** The model with the delta put on it (a new model; the old one is left as it was). */
export function applyDelta(model: MigrationModel, d: MigrationDelta): MigrationModel {
  return {
    originNs: d.originNs, traces: d.traces, phases: d.phases, downtime: d.downtime, qemu: d.qemu, postcopyRequests: d.postcopyRequests,
    send: d.send ? applyMultifdDelta(model.send, d.send) : model.send,
    recv: d.recv ? applyMultifdDelta(model.recv, d.recv) : model.recv,
    postcopy: d.postcopy ? applyPostcopyDelta(model.postcopy, d.postcopy) : model.postcopy,
  };
}
