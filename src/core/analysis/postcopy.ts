/**
 * Postcopy on the destination: page fault requests, pages placed (host address mapped
 * back to RAMBlock + offset), request → placement latency, shared-page traffic with
 * vhost-user back-ends and blocktime. Faults are matched to the first placement of the
 * same RAMBlock page at or after the request.
 *
 * The analysis takes a trace batch by batch (PostcopyBuilder.add), like the multifd one:
 * what a batch adds (new faults, placements, shared pages, latencies now known) can be
 * taken as a delta.
 */
import type { EventTable, TraceStore } from '../trace/store';
import { f64, GrowingRows, u32, u8, type ColumnsOf } from './growColumns';
import type { FaultColumns, PlacementColumns, PostcopyData, SharedColumns, SharedKind } from './model';
import { SHARED_KINDS } from './model';
import { fieldOf, numbers, rowsOf, strings } from './tableAccess';

const NO_RB = 0xffffffff;
const SMALL_PAGE = 4096;

export const FAULT_SCHEMA = { t: f64, rb: u32, offset: f64, tid: u32, latencyNs: f64, line: u32, placedLine: u32 };
export const PLACEMENT_SCHEMA = { t: f64, rb: u32, offset: f64, zero: u8, line: u32 };
export const SHARED_SCHEMA = { t: f64, kind: u8, rb: u32, offset: f64, line: u32 };
/** Placements as the builder keeps them: with the host address, to map them again when a RAMBlock's range becomes known. */
const HELD_PLACEMENT_SCHEMA = { ...PLACEMENT_SCHEMA, host: f64 };

interface HostRange { rb: number; host: number; length: number }

class BlockNames {
  readonly names: string[] = [];
  private readonly ids = new Map<string, number>();
  id(name: string): number {
    let i = this.ids.get(name);
    if (i === undefined) { i = this.names.length; this.names.push(name); this.ids.set(name, i); }
    return i;
  }
}

function locate(ranges: readonly HostRange[], addr: number): HostRange | undefined {
  let lo = 0, hi = ranges.length;
  while (lo < hi) { const m = (lo + hi) >>> 1; if (ranges[m]!.host <= addr) lo = m + 1; else hi = m; }
  const r = ranges[lo - 1];
  return r && addr < r.host + r.length ? r : undefined;
}

const SHARED_EVENTS: readonly [string, SharedKind, readonly string[], readonly string[]][] = [
  ['postcopy_request_shared_page', 'request', ['rb'], ['rb_offset']],
  ['postcopy_request_shared_page_present', 'present', ['rb'], ['rb_offset']],
  ['postcopy_wake_shared', 'wake', ['rb'], ['client_addr']],
  ['vhost_user_postcopy_fault_handler', 'backendFault', ['name'], ['fault_address']],
  ['vhost_user_postcopy_waker', 'backendWaker', ['rb'], ['rb_offset']],
];

const isPostcopyEvent = (n: string): boolean => n.startsWith('postcopy_') || n.startsWith('vhost_user_postcopy') || n.startsWith('loadvm_postcopy');

/** Latencies found for faults (named by time and line), in a delta: earlier faults get theirs when their page is placed. */
export interface LatencyUpdates {
  readonly t: Float64Array;
  readonly line: Uint32Array;
  readonly latencyNs: Float64Array;
  readonly placedLine: Uint32Array;
}

/** What batches added to the postcopy data; `whole` replaces it when earlier rows changed (a RAMBlock's range became known). */
export interface PostcopyDelta {
  readonly whole: PostcopyData | null;
  readonly ramBlocks: readonly string[];
  readonly faults: FaultColumns;
  readonly latency: LatencyUpdates;
  readonly placements: PlacementColumns;
  readonly shared: SharedColumns;
  readonly blocktimeTotal: number | null;
  readonly blocktimeEvents: number;
  readonly limits: readonly string[];
}

/** The postcopy analysis of a destination trace, fed batch after batch. */
export class PostcopyBuilder {
  private any = false;
  private readonly blocks = new BlockNames();
  private readonly ranges: HostRange[] = [];
  private readonly learned: HostRange[] = [];
  private readonly learnedRbs = new Set<number>();
  private faultTable = false;
  private readonly faults = new GrowingRows(FAULT_SCHEMA);
  private readonly placements = new GrowingRows(HELD_PLACEMENT_SCHEMA);
  private readonly shared = new GrowingRows(SHARED_SCHEMA);
  /** Faults not placed yet, by RAMBlock page. */
  private readonly waiting = new Map<string, { t: number; line: number }[]>();
  private matched = 0;
  private updates: { t: number; line: number; latencyNs: number; placedLine: number }[] = [];
  private blocktimeTotal: number | null = null;
  private blocktimeEvents = 0;
  private changed = false;
  /** Earlier placements were mapped again: the next delta carries the whole data. */
  private remapped = false;

  add(store: TraceStore, offsetNs: number): void {
    if (!this.any && store.names().some((n) => store.count(n) > 0 && isPostcopyEvent(n))) { this.any = true; this.changed = true; }
    if (!this.any) return;
    const rangesBefore = this.mapRanges().length;
    const basisBefore = this.ranges.length > 0;
    const basisCount = this.ranges.length, sharedBefore = this.shared.length;
    this.addRanges(rowsOf(store, 'postcopy_init_range'));
    const faultTable = rowsOf(store, 'postcopy_ram_fault_thread_request');
    if (faultTable) this.faultTable = true;
    const faults = this.faultRows(faultTable, offsetNs);
    if (this.mapRanges().length !== rangesBefore || basisBefore !== this.ranges.length > 0) this.remap();
    const placed = this.placementRows(store, offsetNs);
    this.match(faults, placed);
    this.faults.add(faults);
    this.placements.add(placed);
    this.shared.add(this.sharedRows(store, offsetNs));
    const bt = rowsOf(store, 'postcopy_ram_incoming_cleanup_blocktime');
    if (bt) this.blocktimeTotal = numbers(bt, ['total'])[bt.count - 1]!;
    const blocktime = store.count('postcopy_blocktime_begin') + store.count('postcopy_blocktime_end');
    this.blocktimeEvents += blocktime;
    if (faults.t.length || placed.t.length || this.shared.length !== sharedBefore || bt || blocktime || this.ranges.length !== basisCount || this.remapped) this.changed = true;
  }

  private addRanges(t: EventTable | undefined): void {
    if (!t) return;
    const names = strings(t, ['ramblock']), host = numbers(t, ['host_addr']), len = numbers(t, ['length']);
    names.forEach((n, i) => this.ranges.push({ rb: this.blocks.id(n), host: host[i]!, length: len[i]! }));
    this.ranges.sort((a, b) => a.host - b.host);
  }

  /** The ranges placements are mapped through: postcopy_init_range's, else those learned from the fault requests. */
  private mapRanges(): readonly HostRange[] {
    return this.ranges.length > 0 ? this.ranges : this.learned;
  }

  private faultRows(t: EventTable | undefined, offsetNs: number): ColumnsOf<typeof FAULT_SCHEMA> {
    const n = t?.count ?? 0;
    const c: ColumnsOf<typeof FAULT_SCHEMA> = {
      t: new Float64Array(n), rb: new Uint32Array(n), offset: new Float64Array(n), tid: new Uint32Array(n),
      latencyNs: new Float64Array(n).fill(NaN), line: new Uint32Array(n), placedLine: new Uint32Array(n),
    };
    if (!t) return c;
    const rb = strings(t, ['ramblock', 'rb']), off = numbers(t, ['offset', 'rb_offset']), host = numbers(t, ['hostaddr']);
    const pid = fieldOf(t, ['pid']);
    for (let i = 0; i < n; i++) {
      c.t[i] = t.ts.data[i]! + offsetNs;
      c.rb[i] = this.blocks.id(rb[i]!);
      c.offset[i] = off[i]!;
      const p = pid ? pid.number(i) : 0;
      c.tid[i] = p > 0 ? p : (t.threadId(i) ?? 0);
      c.line[i] = t.line(i);
      if (!this.learnedRbs.has(c.rb[i]!) && Number.isFinite(host[i]!)) {
        this.learnedRbs.add(c.rb[i]!);
        this.learned.push({ rb: c.rb[i]!, host: Math.floor((host[i]! - off[i]!) / SMALL_PAGE) * SMALL_PAGE, length: Infinity });
        this.learned.sort((a, b) => a.host - b.host);
      }
    }
    return c;
  }

  private placementRows(store: TraceStore, offsetNs: number): ColumnsOf<typeof HELD_PLACEMENT_SCHEMA> {
    const parts = [rowsOf(store, 'postcopy_place_page'), rowsOf(store, 'postcopy_place_page_zero')];
    const n = parts.reduce((s, t) => s + (t?.count ?? 0), 0);
    const c: ColumnsOf<typeof HELD_PLACEMENT_SCHEMA> = { t: new Float64Array(n), rb: new Uint32Array(n), offset: new Float64Array(n), zero: new Uint8Array(n), line: new Uint32Array(n), host: new Float64Array(n) };
    const ranges = this.mapRanges();
    let o = 0;
    parts.forEach((t, zero) => {
      if (!t) return;
      const host = numbers(t, ['host_addr', 'host']);
      for (let i = 0; i < t.count; i++, o++) {
        c.t[o] = t.ts.data[i]! + offsetNs; c.zero[o] = zero; c.line[o] = t.line(i); c.host[o] = host[i]!;
        const range = locate(ranges, host[i]!);
        c.rb[o] = range ? range.rb : NO_RB;
        c.offset[o] = range ? host[i]! - range.host : host[i]!;
      }
    });
    return c;
  }

  /** Maps every placement held again (a RAMBlock's range became known after some were placed). */
  private remap(): void {
    if (this.placements.length === 0) return;
    const ranges = this.mapRanges();
    const p = this.placements.view();
    for (let i = 0; i < p.t.length; i++) {
      const range = locate(ranges, p.host[i]!);
      p.rb[i] = range ? range.rb : NO_RB;
      p.offset[i] = range ? p.host[i]! - range.host : p.host[i]!;
    }
    this.remapped = true;
  }

  /**
   * Each placement, in time order with the new faults (a fault first when both have one time),
   * sets the latency of every fault on its page waiting since at or before it.
   */
  private match(f: ColumnsOf<typeof FAULT_SCHEMA>, p: ColumnsOf<typeof HELD_PLACEMENT_SCHEMA>): void {
    const fo = order(f.t, f.line), po = order(p.t, p.line);
    let j = 0;
    const place = (k: number): void => {
      const key = `${p.rb[k]}:${p.offset[k]}`;
      const ws = this.waiting.get(key);
      if (!ws) return;
      const left: typeof ws = [];
      for (const w of ws) {
        if (w.t > p.t[k]!) { left.push(w); continue; }
        const latencyNs = p.t[k]! - w.t, placedLine = p.line[k]!;
        // A fault of this batch gets it in its row, one of an earlier batch in the held rows and in the delta.
        const i = rowOf(f, w);
        if (i >= 0) { f.latencyNs[i] = latencyNs; f.placedLine[i] = placedLine; } else { this.faults.set('latencyNs', w.t, w.line, latencyNs); this.faults.set('placedLine', w.t, w.line, placedLine); }
        this.updates.push({ t: w.t, line: w.line, latencyNs, placedLine });
        this.matched++;
      }
      if (left.length) this.waiting.set(key, left); else this.waiting.delete(key);
    };
    for (const i of fo) {
      while (j < po.length && p.t[po[j]!]! < f.t[i]!) place(po[j++]!);
      const key = `${f.rb[i]}:${f.offset[i]}`;
      const ws = this.waiting.get(key);
      const w = { t: f.t[i]!, line: f.line[i]! };
      if (ws) ws.push(w); else this.waiting.set(key, [w]);
    }
    while (j < po.length) place(po[j++]!);
  }

  private sharedRows(store: TraceStore, offsetNs: number): ColumnsOf<typeof SHARED_SCHEMA> {
    const rows: { t: number; kind: number; rb: number; offset: number; line: number }[] = [];
    for (const [name, kind, rbNames, offNames] of SHARED_EVENTS) {
      const t = rowsOf(store, name);
      if (!t) continue;
      const rb = strings(t, rbNames), off = numbers(t, offNames);
      for (let i = 0; i < t.count; i++) rows.push({ t: t.ts.data[i]! + offsetNs, kind: SHARED_KINDS.indexOf(kind), rb: this.blocks.id(rb[i]!), offset: off[i]!, line: t.line(i) });
    }
    return {
      t: Float64Array.from(rows, (r) => r.t), kind: Uint8Array.from(rows, (r) => r.kind), rb: Uint32Array.from(rows, (r) => r.rb),
      offset: Float64Array.from(rows, (r) => r.offset), line: Uint32Array.from(rows, (r) => r.line),
    };
  }

  private limits(): string[] {
    const limits: string[] = [];
    if (this.ranges.length === 0) limits.push('No postcopy_init_range events: placed pages are mapped to RAMBlocks through the fault requests (4 KiB pages assumed).');
    if (!this.faultTable) limits.push('No postcopy_ram_fault_thread_request events: fault requests and their latency are unknown.');
    else if (this.matched < this.faults.length) limits.push(`${this.faults.length - this.matched} fault requests have no matching placement in the trace.`);
    if (this.placements.length === 0) limits.push('No postcopy_place_page events: placements are unknown.');
    return limits;
  }

  /** The postcopy data of everything added; null when the trace holds no postcopy events at all. */
  result(): PostcopyData | null {
    if (!this.any) return null;
    return {
      ramBlocks: [...this.blocks.names], faults: this.faults.copy(), placements: withoutHost(this.placements.copy()), shared: this.shared.copy(),
      blocktimeTotal: this.blocktimeTotal, blocktimeEvents: this.blocktimeEvents, limits: this.limits(),
    };
  }

  /** What the batches since the last take added; null when nothing. */
  takeDelta(): PostcopyDelta | null {
    if (!this.changed || !this.any) return null;
    this.changed = false;
    const u = this.updates;
    this.updates = [];
    const latency: LatencyUpdates = {
      t: Float64Array.from(u, (x) => x.t), line: Uint32Array.from(u, (x) => x.line),
      latencyNs: Float64Array.from(u, (x) => x.latencyNs), placedLine: Uint32Array.from(u, (x) => x.placedLine),
    };
    const whole = this.remapped ? this.result() : null;
    this.remapped = false;
    const faults = this.faults.takeAdded(), placements = withoutHost(this.placements.takeAdded()), shared = this.shared.takeAdded();
    return {
      whole, ramBlocks: [...this.blocks.names], faults, latency, placements, shared,
      blocktimeTotal: this.blocktimeTotal, blocktimeEvents: this.blocktimeEvents, limits: this.limits(),
    };
  }

  /** Marks everything as taken (the data went out whole, in a model). */
  markTaken(): void {
    this.changed = false;
    this.remapped = false;
    this.updates = [];
    this.faults.dropAdded();
    this.placements.dropAdded();
    this.shared.dropAdded();
  }
}

/** Indexes of rows in (t, line) order. */
function order(t: Float64Array, line: Uint32Array): number[] {
  const idx = Array.from({ length: t.length }, (_, i) => i);
  let ordered = true;
  for (let i = 1; i < t.length && ordered; i++) if (t[i]! < t[i - 1]! || (t[i] === t[i - 1] && line[i]! < line[i - 1]!)) ordered = false;
  return ordered ? idx : idx.sort((a, b) => t[a]! - t[b]! || line[a]! - line[b]!);
}

/** Row of fault w among the batch's own rows, or -1 (then it came in an earlier batch). */
function rowOf(f: ColumnsOf<typeof FAULT_SCHEMA>, w: { t: number; line: number }): number {
  // The batch's rows are in file order: lines ascend, and are unique within a file.
  let lo = 0, hi = f.line.length;
  while (lo < hi) { const m = (lo + hi) >>> 1; if (f.line[m]! < w.line) lo = m + 1; else hi = m; }
  return lo < f.line.length && f.line[lo] === w.line && f.t[lo] === w.t ? lo : -1;
}

function withoutHost(c: ColumnsOf<typeof HELD_PLACEMENT_SCHEMA>): PlacementColumns {
  return { t: c.t, rb: c.rb, offset: c.offset, zero: c.zero, line: c.line };
}
