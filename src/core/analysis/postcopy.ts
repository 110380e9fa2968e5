/**
 * Postcopy on the destination: page fault requests, pages placed (host address mapped
 * back to RAMBlock + offset), request → placement latency, shared-page traffic with
 * vhost-user back-ends and blocktime. Faults are matched to the first placement of the
 * same RAMBlock page at or after the request.
 */
import type { EventTable, TraceStore } from '../trace/store';
import type { FaultColumns, PlacementColumns, PostcopyData, SharedColumns, SharedKind } from './model';
import { SHARED_KINDS } from './model';
import { fieldOf, numbers, rowsOf, strings } from './tableAccess';

const NO_RB = 0xffffffff;
const SMALL_PAGE = 4096;

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

function hostRanges(store: TraceStore, blocks: BlockNames): HostRange[] {
  const t = rowsOf(store, 'postcopy_init_range');
  if (!t) return [];
  const names = strings(t, ['ramblock']), host = numbers(t, ['host_addr']), len = numbers(t, ['length']);
  return names.map((n, i) => ({ rb: blocks.id(n), host: host[i]!, length: len[i]! })).sort((a, b) => a.host - b.host);
}

function locate(ranges: readonly HostRange[], addr: number): HostRange | undefined {
  let lo = 0, hi = ranges.length;
  while (lo < hi) { const m = (lo + hi) >>> 1; if (ranges[m]!.host <= addr) lo = m + 1; else hi = m; }
  const r = ranges[lo - 1];
  return r && addr < r.host + r.length ? r : undefined;
}

function faultColumns(t: EventTable | undefined, blocks: BlockNames, offsetNs: number, learned: HostRange[]): FaultColumns {
  const n = t?.count ?? 0;
  const c: FaultColumns = {
    t: new Float64Array(n), rb: new Uint32Array(n), offset: new Float64Array(n), tid: new Uint32Array(n),
    latencyNs: new Float64Array(n).fill(NaN), line: new Uint32Array(n), placedLine: new Uint32Array(n),
  };
  if (!t) return c;
  const rb = strings(t, ['ramblock', 'rb']), off = numbers(t, ['offset', 'rb_offset']), host = numbers(t, ['hostaddr']);
  const pid = fieldOf(t, ['pid']);
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) {
    c.t[i] = t.ts.data[i]! + offsetNs;
    c.rb[i] = blocks.id(rb[i]!);
    c.offset[i] = off[i]!;
    const p = pid ? pid.number(i) : 0;
    c.tid[i] = p > 0 ? p : (t.threadId(i) ?? 0);
    c.line[i] = t.line(i);
    if (!seen.has(c.rb[i]!) && Number.isFinite(host[i]!)) {
      seen.add(c.rb[i]!);
      learned.push({ rb: c.rb[i]!, host: Math.floor((host[i]! - off[i]!) / SMALL_PAGE) * SMALL_PAGE, length: Infinity });
    }
  }
  return c;
}

function placementColumns(store: TraceStore, ranges: readonly HostRange[], offsetNs: number): PlacementColumns {
  const parts = [rowsOf(store, 'postcopy_place_page'), rowsOf(store, 'postcopy_place_page_zero')];
  const rows: { t: number; pos: number; host: number; zero: number; line: number }[] = [];
  parts.forEach((t, zero) => {
    if (!t) return;
    const host = numbers(t, ['host_addr', 'host']);
    for (let i = 0; i < t.count; i++) rows.push({ t: t.ts.data[i]! + offsetNs, pos: t.pos.getNumber(i), host: host[i]!, zero, line: t.line(i) });
  });
  rows.sort((a, b) => a.t - b.t || a.pos - b.pos);
  const n = rows.length;
  const c: PlacementColumns = { t: new Float64Array(n), rb: new Uint32Array(n), offset: new Float64Array(n), zero: new Uint8Array(n), line: new Uint32Array(n) };
  rows.forEach((r, i) => {
    const range = locate(ranges, r.host);
    c.t[i] = r.t; c.zero[i] = r.zero; c.line[i] = r.line;
    c.rb[i] = range ? range.rb : NO_RB;
    c.offset[i] = range ? r.host - range.host : r.host;
  });
  return c;
}

/** Sets latencyNs of each fault to the time of the first placement of its page at or after it. */
function matchLatency(f: FaultColumns, p: PlacementColumns): number {
  const waiting = new Map<string, number[]>();
  let matched = 0, j = 0;
  const place = (k: number): void => {
    const key = `${p.rb[k]}:${p.offset[k]}`;
    const ws = waiting.get(key);
    if (!ws) return;
    for (const i of ws) { f.latencyNs[i] = p.t[k]! - f.t[i]!; f.placedLine[i] = p.line[k]!; matched++; }
    waiting.delete(key);
  };
  for (let i = 0; i < f.t.length; i++) {
    while (j < p.t.length && p.t[j]! < f.t[i]!) place(j++);
    const key = `${f.rb[i]}:${f.offset[i]}`;
    const ws = waiting.get(key);
    if (ws) ws.push(i); else waiting.set(key, [i]);
  }
  while (j < p.t.length) place(j++);
  return matched;
}

const SHARED_EVENTS: readonly [string, SharedKind, readonly string[], readonly string[]][] = [
  ['postcopy_request_shared_page', 'request', ['rb'], ['rb_offset']],
  ['postcopy_request_shared_page_present', 'present', ['rb'], ['rb_offset']],
  ['postcopy_wake_shared', 'wake', ['rb'], ['client_addr']],
  ['vhost_user_postcopy_fault_handler', 'backendFault', ['name'], ['fault_address']],
  ['vhost_user_postcopy_waker', 'backendWaker', ['rb'], ['rb_offset']],
];

function sharedColumns(store: TraceStore, blocks: BlockNames, offsetNs: number): SharedColumns {
  const rows: { t: number; kind: number; rb: number; offset: number; line: number }[] = [];
  for (const [name, kind, rbNames, offNames] of SHARED_EVENTS) {
    const t = rowsOf(store, name);
    if (!t) continue;
    const rb = strings(t, rbNames), off = numbers(t, offNames);
    for (let i = 0; i < t.count; i++) rows.push({ t: t.ts.data[i]! + offsetNs, kind: SHARED_KINDS.indexOf(kind), rb: blocks.id(rb[i]!), offset: off[i]!, line: t.line(i) });
  }
  rows.sort((a, b) => a.t - b.t || a.line - b.line);
  return {
    t: Float64Array.from(rows, (r) => r.t), kind: Uint8Array.from(rows, (r) => r.kind), rb: Uint32Array.from(rows, (r) => r.rb),
    offset: Float64Array.from(rows, (r) => r.offset), line: Uint32Array.from(rows, (r) => r.line),
  };
}

/** Postcopy analysis of a destination trace; null when it holds no postcopy events at all. */
export function analyzePostcopy(store: TraceStore, offsetNs = 0): PostcopyData | null {
  const anyPostcopy = store.names().some((n) => store.count(n) > 0 && (n.startsWith('postcopy_') || n.startsWith('vhost_user_postcopy') || n.startsWith('loadvm_postcopy')));
  if (!anyPostcopy) return null;
  const blocks = new BlockNames();
  const ranges = hostRanges(store, blocks);
  const learned: HostRange[] = [];
  const faultTable = rowsOf(store, 'postcopy_ram_fault_thread_request');
  const faults = faultColumns(faultTable, blocks, offsetNs, learned);
  const order = faultTable ? sortByTime(faults) : faults;
  const limits: string[] = [];
  const mapRanges = ranges.length > 0 ? ranges : learned.sort((a, b) => a.host - b.host);
  if (ranges.length === 0) limits.push('No postcopy_init_range events: placed pages are mapped to RAMBlocks through the fault requests (4 KiB pages assumed).');
  const placements = placementColumns(store, mapRanges, offsetNs);
  const matched = matchLatency(order, placements);
  if (!faultTable) limits.push('No postcopy_ram_fault_thread_request events: fault requests and their latency are unknown.');
  else if (matched < order.t.length) limits.push(`${order.t.length - matched} fault requests have no matching placement in the trace.`);
  if (placements.t.length === 0) limits.push('No postcopy_place_page events: placements are unknown.');
  const bt = rowsOf(store, 'postcopy_ram_incoming_cleanup_blocktime');
  const blocktimeEvents = store.count('postcopy_blocktime_begin') + store.count('postcopy_blocktime_end');
  return {
    ramBlocks: blocks.names, faults: order, placements, shared: sharedColumns(store, blocks, offsetNs),
    blocktimeTotal: bt ? numbers(bt, ['total'])[bt.count - 1]! : null, blocktimeEvents, limits,
  };
}

function sortByTime(f: FaultColumns): FaultColumns {
  let sorted = true;
  for (let i = 1; i < f.t.length && sorted; i++) if (f.t[i]! < f.t[i - 1]!) sorted = false;
  if (sorted) return f;
  const idx = Uint32Array.from(f.t.keys()).sort((a, b) => f.t[a]! - f.t[b]! || a - b);
  const pick = <T extends Float64Array | Uint32Array>(src: T, make: (n: number) => T): T => { const o = make(src.length); idx.forEach((i, k) => { o[k] = src[i]!; }); return o; };
  const f64 = (n: number): Float64Array => new Float64Array(n), u32 = (n: number): Uint32Array => new Uint32Array(n);
  return {
    t: pick(f.t, f64), rb: pick(f.rb, u32), offset: pick(f.offset, f64), tid: pick(f.tid, u32),
    latencyNs: pick(f.latencyNs, f64), line: pick(f.line, u32), placedLine: pick(f.placedLine, u32),
  };
}
