/**
 * The summary the view shows and `qmig analyze` prints, for the whole migration or a
 * time range. null marks what the loaded traces cannot tell. Plain data: shared by the
 * CLI and the webview.
 */
import { downtimeSummary, type DowntimeSummary } from './downtime';
import type { MigrationModel, MultifdBytesRule, MultifdFormat, PostcopyData, QemuReport, TraceInfo } from './model';
import { SHARED_KINDS } from './model';
import { lowerBound, percentile, sortedFinite } from './prefix';
import { migrationDuration, qemuChecks, type MigrationDuration, type QemuCheck } from './qemuCompare';
import { SideIndex, type ChannelTotals } from './sideIndex';
import { matchTransit, type ChannelTransit, type TransitData } from './transit';

/** Largest number of values sorted for a range percentile. */
const SAMPLE = 100_000;

export interface CountBy { readonly key: string; readonly count: number }

export interface PostcopySummary {
  readonly faultRequests: number | null;
  /** Every page placed (normal and zero); zeroPagesPlaced is the zero-page part of it. */
  readonly pagesPlaced: number | null;
  readonly zeroPagesPlaced: number | null;
  readonly latencyUs: { readonly p50: number | null; readonly p95: number | null; readonly max: number | null };
  readonly faultsPerRamBlock: readonly CountBy[];
  readonly faultsPerThread: readonly CountBy[];
  readonly hotPages: readonly CountBy[];
  readonly sharedPage: Record<string, number> | null;
  readonly blocktimeTotal: number | null;
  readonly limits: readonly string[];
}

export interface SideSummary {
  readonly format: MultifdFormat;
  readonly channels: readonly ChannelTotals[];
  readonly syncRounds: number;
  readonly maxSyncWaitUs: number | null;
  /** Per-packet sums against the *_thread_end totals (whole trace); checked = 0 when the trace has no such totals. */
  readonly crossCheck: { readonly ok: boolean; readonly checked: number; readonly mismatches: readonly string[] };
  readonly bytesRule: MultifdBytesRule;
  readonly limits: readonly string[];
}

export interface MigrationSummary {
  readonly range: { readonly startNs: number; readonly endNs: number } | null;
  readonly traces: readonly TraceInfo[];
  readonly multifd: {
    readonly send: readonly ChannelTotals[] | null;
    readonly recv: readonly ChannelTotals[] | null;
    readonly sendDetail: SideSummary | null;
    readonly recvDetail: SideSummary | null;
    readonly transit: readonly ChannelTransit[] | null;
  };
  readonly postcopy: PostcopySummary;
  readonly phases: readonly { readonly tNs: number; readonly side: string; readonly state: string; readonly from: string }[];
  readonly downtime: DowntimeSummary;
  /** The migration's one duration, its source named (whole migration, whatever the range). */
  readonly duration: MigrationDuration | null;
  /** QEMU's own figures and the trace's beside them (whole migration, whatever the range). */
  readonly qemu: { readonly report: QemuReport; readonly checks: readonly QemuCheck[] };
}

/** The source's traced src-downtime-start → src-downtime-end (QEMU 8.2+), ms: what query-migrate's downtime measures. */
function downtimeWindowMs(m: MigrationModel): number | null {
  const w = downtimeSummary(m.downtime).source?.window;
  return w ? w.us / 1000 : null;
}

/** Indexes built once per model so that range summaries stay cheap. */
export class SummaryIndex {
  readonly send: SideIndex | null;
  readonly recv: SideIndex | null;
  readonly transit: TransitData | null;
  private readonly whole: Pick<MigrationSummary, 'duration' | 'qemu'>;

  constructor(readonly model: MigrationModel) {
    this.send = model.send ? new SideIndex(model.send) : null;
    this.recv = model.recv ? new SideIndex(model.recv) : null;
    this.transit = model.send && model.recv ? matchTransit(model.send, model.recv) : null;
    const pc = postcopySummary(model.postcopy, -Infinity, Infinity, model.traces.some((t) => t.side === 'dst'));
    this.whole = {
      duration: migrationDuration(model),
      qemu: { report: model.qemu, checks: qemuChecks({ model, send: this.send?.totals() ?? null, postcopy: pc, downtimeWindowMs: downtimeWindowMs(model) }) },
    };
  }

  summary(range: { startNs: number; endNs: number } | null = null): MigrationSummary {
    const t0 = range?.startNs ?? -Infinity, t1 = range?.endNs ?? Infinity;
    const m = this.model;
    const side = (ix: SideIndex | null): SideSummary | null => {
      if (!ix) return null;
      const s = ix.side;
      const rounds = s.syncs.filter((r) => r.t >= t0 && r.t < t1);
      const waits = rounds.flatMap((r) => r.waits.map((w) => w.waitNs));
      const bad = s.crossCheck.filter((c) => !c.ok);
      return {
        format: s.format, channels: ix.totals(t0, t1), syncRounds: rounds.length, maxSyncWaitUs: waits.length ? Math.max(...waits) / 1000 : null,
        crossCheck: { ok: bad.length === 0, checked: s.crossCheck.length, mismatches: bad.map((c) => `channel ${c.channel}: ${c.what} summed over packets ${c.fromPackets}, thread end reports ${c.fromThreadEnd}`) },
        bytesRule: s.bytesRule,
        limits: s.limits,
      };
    };
    const sendDetail = side(this.send), recvDetail = side(this.recv);
    return {
      range,
      traces: m.traces,
      multifd: {
        send: sendDetail?.channels ?? null, recv: recvDetail?.channels ?? null, sendDetail, recvDetail,
        transit: this.transit ? this.transitIn(t0, t1) : null,
      },
      postcopy: postcopySummary(m.postcopy, t0, t1, m.traces.some((t) => t.side === 'dst')),
      phases: m.phases.filter((p) => p.t >= t0 && p.t < t1).map((p) => ({ tNs: p.t, side: p.side, state: p.state, from: p.from })),
      downtime: downtimeSummary(m.downtime, t0, t1),
      ...this.whole,
    };
  }

  private transitIn(t0: number, t1: number): ChannelTransit[] {
    const tr = this.transit!;
    if (t0 === -Infinity && t1 === Infinity) return [...tr.channels];
    const s = this.model.send!;
    return s.channels.map((channel, k) => {
      const [a, b] = this.send!.laneRange(k, t0, t1);
      const all = tr.transitNs.subarray(a, b);
      let matched = 0, max = -Infinity;
      for (let i = 0; i < all.length; i++) { const x = all[i]!; if (x === x) { matched++; if (x > max) max = x; } }
      // Percentiles of a huge range come from an even sample; count and max are exact.
      const stride = Math.max(1, Math.floor(all.length / SAMPLE));
      const v = sortedFinite(stride === 1 ? all : all.filter((_, i) => i % stride === 0));
      return { channel, matched, p50Ns: percentile(v, 50), p95Ns: percentile(v, 95), maxNs: matched ? max : null, lagging: tr.channels[k]!.lagging };
    });
  }
}

function top(counts: Map<string, number>, n: number): CountBy[] {
  return [...counts.entries()].map(([key, count]) => ({ key, count })).sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1)).slice(0, n);
}

const round3 = (x: number | null): number | null => (x === null ? null : Math.round(x * 1000) / 1000);

export function postcopySummary(p: PostcopyData | null, t0: number, t1: number, haveDst: boolean): PostcopySummary {
  if (!p) {
    return {
      faultRequests: null, pagesPlaced: null, zeroPagesPlaced: null, latencyUs: { p50: null, p95: null, max: null },
      faultsPerRamBlock: [], faultsPerThread: [], hotPages: [], sharedPage: null, blocktimeTotal: null,
      limits: [haveDst ? 'The destination trace holds no postcopy events (not a postcopy migration, or postcopy_* not traced).' : 'No destination trace loaded: postcopy happens on the destination.'],
    };
  }
  const f = p.faults;
  const a = lowerBound(f.t, t0), b = lowerBound(f.t, t1);
  const lat = sortedFinite(f.latencyNs.subarray(a, b));
  const perRb = new Map<string, number>(), perTid = new Map<string, number>(), pages = new Map<string, number>();
  for (let i = a; i < b; i++) {
    const rb = p.ramBlocks[f.rb[i]!] ?? '?';
    perRb.set(rb, (perRb.get(rb) ?? 0) + 1);
    perTid.set(String(f.tid[i]), (perTid.get(String(f.tid[i])) ?? 0) + 1);
    const key = `${rb}+0x${f.offset[i]!.toString(16)}`;
    pages.set(key, (pages.get(key) ?? 0) + 1);
  }
  const pl = p.placements;
  const pa = lowerBound(pl.t, t0), pb = lowerBound(pl.t, t1);
  let zero = 0;
  for (let i = pa; i < pb; i++) zero += pl.zero[i]!;
  const sh = p.shared;
  const sa = lowerBound(sh.t, t0), sb = lowerBound(sh.t, t1);
  const shared: Record<string, number> = Object.fromEntries(SHARED_KINDS.map((k) => [k, 0]));
  for (let i = sa; i < sb; i++) shared[SHARED_KINDS[sh.kind[i]!]!]!++;
  const us = (x: number | null): number | null => round3(x === null ? null : x / 1000);
  return {
    faultRequests: b - a, pagesPlaced: pb - pa, zeroPagesPlaced: zero,
    latencyUs: { p50: us(percentile(lat, 50)), p95: us(percentile(lat, 95)), max: us(lat.length ? lat[lat.length - 1]! : null) },
    faultsPerRamBlock: top(perRb, 50), faultsPerThread: top(perTid, 50), hotPages: top(pages, 10),
    sharedPage: shared, blocktimeTotal: p.blocktimeTotal, limits: p.limits,
  };
}
