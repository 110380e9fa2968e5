/**
 * Multifd per channel for one side: packets with page counts and sizes, sync rounds
 * with per-channel waits, thread spans, and a cross-check of the per-packet sums against
 * the totals the threads report at exit. Works from argument names for every format
 * QEMU has used (see MultifdFormat).
 *
 * The analysis takes a trace batch by batch (MultifdBuilder.add): a whole file is one
 * batch, a followed file one batch per read. What a batch adds can be taken as a delta
 * (only the new packets and rounds), so following costs what the new lines cost.
 */
import type { EventTable, TraceStore } from '../trace/store';
import { f64, GrowingRows, u32, type ColumnsOf } from './growColumns';
import type { CrossCheck, MultifdBytesRule, MultifdFormat, MultifdSide, PacketColumns, Side, SyncRound, SyncWait, ThreadSpan } from './model';
import { CHANNEL, fieldOf, numbers, rowsOf } from './tableAccess';

const NORMAL = ['normal_pages', 'normal', 'pages', 'used'] as const;
const ZERO = ['zero_pages', 'zero'] as const;

/** QEMU's multifd packet payload: MULTIFD_PACKET_SIZE (512 KiB) of pages at most. */
const PACKET_SIZE = 512 * 1024;
/** The fixed part of MultiFDPacket_t (7.2 and 9.x alike: 320 bytes before the page offsets). */
const PACKET_FIXED = 320;
/** MultiFDInit_t, the first message on every channel. */
const HANDSHAKE = 64;

/** The packet columns of the model, as ordered rows. */
export const PACKET_SCHEMA = { t: f64, packetNum: f64, normal: u32, zero: u32, bytes: u32, flags: u32, line: u32 };
export type PacketRows = ColumnsOf<typeof PACKET_SCHEMA>;

/**
 * How QEMU counts multifd-bytes, per format (read in QEMU's migration/multifd.c):
 * - up to 8.x (formats 'pages', 'normal'): every packet handed to a channel adds its header
 *   (MultiFDPacket_t: 320 bytes + 8 per page slot, 1,344 bytes with 4 KiB pages) plus its
 *   pages × page size; a sync packet adds its header. The channel handshake is not counted.
 *   The traced next_packet_size is only set when a packet carries pages, so a sync packet
 *   (0 pages, flag 0x1) repeats the size of the packet before it: payload comes from pages.
 * - 9.2+ ('fill', 'fill+ram_fill'): each write adds its iov size (header + payload, the payload
 *   being next_packet_size, which is reset to 0 after each packet), a sync packet its header,
 *   and each channel's handshake (MultiFDInit_t, 64 bytes) is counted once.
 * - 9.0–9.1 ('normal+zero') are taken like 9.2+ (zero pages travel as offsets in the header),
 *   with the payload from the normal pages.
 */
const payloadFromPages = (format: MultifdFormat): boolean => format === 'pages' || format === 'normal' || format === 'normal+zero';

function bytesRule(format: MultifdFormat, pageSize: number, pageSizeFrom: MultifdBytesRule['pageSizeFrom'], staleSizes: number, tracedSizeBytes: number): MultifdBytesRule {
  return {
    payload: payloadFromPages(format) ? 'pages' : 'next_packet_size',
    pageSize, pageSizeFrom,
    headerBytes: PACKET_FIXED + 8 * Math.floor(PACKET_SIZE / pageSize),
    handshakeBytes: format === 'pages' || format === 'normal' ? 0 : HANDSHAKE,
    staleSizes,
    tracedSizeBytes,
  };
}

/** Format of a packet table: which page counts it carries (the fill formats are told by their tables). */
function classicFormat(classic: EventTable): MultifdFormat {
  const hasZero = fieldOf(classic, ZERO) !== null;
  const normalName = NORMAL.find((n) => classic.hasField(n));
  return hasZero ? 'normal+zero' : normalName === 'normal' || normalName === 'normal_pages' ? 'normal' : normalName ? 'pages' : 'none';
}

/**
 * Before 9.2 a channel thread counts its packets from 1 (the initial handshake packet is
 * counted but not traced), so *_thread_end reports one packet more than the trace holds:
 * seen on every channel of both sides in the lab's QEMU 7.2 recordings.
 */
function packetDelta(format: MultifdFormat): number {
  return format === 'pages' || format === 'normal' || format === 'normal+zero' ? 1 : 0;
}

const PRE_9_ZERO = 'Zero pages: n/a. Before QEMU 9.0 the multifd packet events carry no zero-page count (multifd_send counts normal pages, multifd_recv one page count).';

const LIMITS: Record<MultifdFormat, (dir: 'send' | 'recv') => string[]> = {
  // One sentence for both pre-9.0 formats, so a view of both sides says it once.
  'pages': () => [PRE_9_ZERO],
  'normal': () => [PRE_9_ZERO],
  'normal+zero': () => [],
  'fill+ram_fill': () => [],
  'fill': (dir) => [dir === 'recv'
    // Where the bytes come from is the bytes rule's to say (figureText.bytesRuleNote).
    ? 'multifd_recv_unfill (QEMU 9.2+) carries no page counts: normal and zero pages received are unknown.'
    : 'multifd_send_fill without multifd_send_ram_fill: page counts are unknown (enable multifd_send_ram_fill).'],
  'none': (dir) => [`No multifd_${dir} packet events in this trace.`],
};

interface Lane {
  readonly rows: GrowingRows<typeof PACKET_SCHEMA>;
  normal: number;
  zero: number;
}

interface RamFillRows { readonly ch: Float64Array; readonly normal: Float64Array; readonly zero: Float64Array }

const ramFillRows = (ram: EventTable): RamFillRows => ({ ch: numbers(ram, CHANNEL), normal: numbers(ram, NORMAL), zero: numbers(ram, ZERO) });

interface ThreadState { startNs: number | null; startLine: number | null; endNs: number | null; endLine: number | null; p: number | null; n: number | null; z: number | null }

interface PendingWait { readonly kind: SyncWait['kind']; readonly t: number; readonly ch: number; readonly line: number; readonly pos: number }

/** What a batch changed on one side: its new packets (by lane) and rounds, and the small parts whole. */
export interface MultifdDelta extends Pick<MultifdSide, 'side' | 'format' | 'knows' | 'channels' | 'threads' | 'crossCheck' | 'limits' | 'bytesRule'> {
  /** New packets of each channel, in `channels` order: how many, then their rows lane after lane. */
  readonly added: { readonly counts: readonly number[]; readonly packets: PacketColumns };
  /** The sync rounds that ended since. */
  readonly syncs: readonly SyncRound[];
}

/** The multifd analysis of one side, fed batch after batch of its trace. */
export class MultifdBuilder {
  private readonly dir: 'send' | 'recv';
  private format: MultifdFormat = 'none';
  private seen = false;
  private packetTable = false;
  private sizeField = false;
  private ramFillSeen = false;
  private readonly lanes = new Map<number, Lane>();
  /** Per channel, the pages of the last multifd_send_ram_fill not yet taken by a multifd_send_fill. */
  private readonly pendingRam = new Map<number, { normal: number; zero: number }>();
  /** Signal and wait events since the last multifd_*_sync_main. */
  private waits: PendingWait[] = [];
  private readonly syncs: SyncRound[] = [];
  private syncsTaken = 0;
  private readonly threads = new Map<number, ThreadState>();
  private stale = 0;
  private traced = 0;
  private changed = false;

  constructor(readonly side: Side, private readonly pageSize?: number) {
    this.dir = side === 'src' ? 'send' : 'recv';
  }

  /** Takes the rows of a batch (every row after the ones of earlier batches); times are moved by offsetNs. */
  add(store: TraceStore, offsetNs: number): void {
    const dir = this.dir;
    const classic = rowsOf(store, `multifd_${dir}`);
    const fill = rowsOf(store, dir === 'send' ? 'multifd_send_fill' : 'multifd_recv_unfill');
    const ram = dir === 'send' ? rowsOf(store, 'multifd_send_ram_fill') : undefined;
    const start = rowsOf(store, `multifd_${dir}_thread_start`), end = rowsOf(store, `multifd_${dir}_thread_end`);
    const main = rowsOf(store, `multifd_${dir}_sync_main`);
    if (classic || fill || start || main) this.seen = true;
    if (ram) this.ramFillSeen = true;
    const table = classic ?? fill;
    if (classic) this.format = classicFormat(classic);
    else if (fill) this.format = dir === 'send' && this.ramFillSeen ? 'fill+ram_fill' : 'fill';
    else if (this.format === 'fill' && this.ramFillSeen) this.format = 'fill+ram_fill';
    if (table) {
      this.packetTable = true;
      if (fieldOf(table, ['next_packet_size']) !== null) this.sizeField = true;
      this.addPackets(table, classic ? undefined : ram, offsetNs);
    } else if (ram) {
      this.noteRamFill(ramFillRows(ram), 0, ram.count);
    }
    this.addThreads(start, end, offsetNs);
    this.addSyncs(store, main, offsetNs);
    if (classic || fill || ram || start || end || main || rowsOf(store, `multifd_${dir}_sync_main_signal`) || rowsOf(store, `multifd_${dir}_sync_main_wait`)) this.changed = true;
  }

  /** Notes ram_fill rows [from, to) of a batch as the pages of their channel's next fill. */
  private noteRamFill(ram: RamFillRows, from: number, to: number): void {
    for (let r = from; r < to; r++) this.pendingRam.set(ram.ch[r]!, { normal: ram.normal[r]!, zero: ram.zero[r]! });
  }

  private addPackets(t: EventTable, ram: EventTable | undefined, offsetNs: number): void {
    const n = t.count;
    const ch = numbers(t, CHANNEL), num = numbers(t, ['packet_num']), size = numbers(t, ['next_packet_size']), flags = numbers(t, ['flags']);
    const normal = numbers(t, NORMAL), zero = numbers(t, ZERO);
    if (this.format === 'fill+ram_fill') {
      normal.fill(0);
      zero.fill(0);
      // 9.2+ source: each multifd_send_ram_fill gives the pages of the next multifd_send_fill on its channel.
      const rows = ram ? ramFillRows(ram) : undefined;
      let r = 0;
      for (let i = 0; i < n; i++) {
        const pos = t.pos.getNumber(i);
        if (ram && rows) { const r0 = r; while (r < ram.count && ram.pos.getNumber(r) < pos) r++; this.noteRamFill(rows, r0, r); }
        const pages = this.pendingRam.get(ch[i]!);
        if (pages) { normal[i] = pages.normal; zero[i] = pages.zero; this.pendingRam.delete(ch[i]!); }
      }
      if (ram && rows) this.noteRamFill(rows, r, ram.count);
    }
    const fromPages = payloadFromPages(this.format);
    const pageSize = this.pageSize ?? 4096;
    const z = (v: number): number => (v === v ? v : 0);
    // The batch's packets per channel, then each lane takes its own.
    const byLane = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const traced = size[i]!;
      if (traced === traced) this.traced += traced;
      if (fromPages && traced === traced && traced !== z(normal[i]!) * pageSize) this.stale++;
      const c = ch[i]!;
      if (!Number.isFinite(c)) continue;
      let l = byLane.get(c);
      if (!l) { l = []; byLane.set(c, l); }
      l.push(i);
    }
    for (const [c, idx] of byLane) {
      const m = idx.length;
      const rows: PacketRows = { t: new Float64Array(m), packetNum: new Float64Array(m), normal: new Uint32Array(m), zero: new Uint32Array(m), bytes: new Uint32Array(m), flags: new Uint32Array(m), line: new Uint32Array(m) };
      const lane = this.lane(c);
      idx.forEach((i, j) => {
        rows.t[j] = t.ts.data[i]! + offsetNs; rows.packetNum[j] = num[i]!; rows.normal[j] = z(normal[i]!); rows.zero[j] = z(zero[i]!);
        rows.bytes[j] = fromPages ? z(normal[i]!) * pageSize : z(size[i]!); rows.flags[j] = z(flags[i]!); rows.line[j] = t.line(i);
        lane.normal += rows.normal[j]!; lane.zero += rows.zero[j]!;
      });
      lane.rows.add(rows);
    }
  }

  private lane(channel: number): Lane {
    let l = this.lanes.get(channel);
    if (!l) { l = { rows: new GrowingRows(PACKET_SCHEMA), normal: 0, zero: 0 }; this.lanes.set(channel, l); }
    return l;
  }

  private thread(ch: number): ThreadState {
    let s = this.threads.get(ch);
    if (!s) { s = { startNs: null, startLine: null, endNs: null, endLine: null, p: null, n: null, z: null }; this.threads.set(ch, s); }
    return s;
  }

  private addThreads(start: EventTable | undefined, end: EventTable | undefined, offsetNs: number): void {
    if (start) { const ch = numbers(start, CHANNEL); for (let i = 0; i < start.count; i++) { const s = this.thread(ch[i]!); s.startNs = start.ts.data[i]! + offsetNs; s.startLine = start.line(i); } }
    if (end) {
      const ch = numbers(end, CHANNEL);
      const pk = fieldOf(end, ['packets']), nm = fieldOf(end, NORMAL), zr = fieldOf(end, ZERO);
      for (let i = 0; i < end.count; i++) {
        const s = this.thread(ch[i]!);
        s.endNs = end.ts.data[i]! + offsetNs; s.endLine = end.line(i);
        s.p = pk ? pk.number(i) : null; s.n = nm ? nm.number(i) : null; s.z = zr ? zr.number(i) : null;
      }
    }
    // A channel that started but sent nothing still gets a lane.
    for (const c of this.threads.keys()) this.lane(c);
  }

  private addSyncs(store: TraceStore, main: EventTable | undefined, offsetNs: number): void {
    const dir = this.dir;
    const batch: PendingWait[] = [];
    for (const kind of ['signal', 'wait'] as const) {
      const t = rowsOf(store, `multifd_${dir}_sync_main_${kind}`);
      if (!t) continue;
      const ch = numbers(t, CHANNEL);
      for (let i = 0; i < t.count; i++) batch.push({ kind, t: t.ts.data[i]! + offsetNs, ch: ch[i]!, line: t.line(i), pos: t.pos.getNumber(i) });
    }
    batch.sort((a, b) => a.pos - b.pos);
    const per = this.waits.length ? [...this.waits, ...batch] : batch;
    let k = 0;
    if (main) {
      const nums = numbers(main, ['packet_num']);
      for (let i = 0; i < main.count; i++) {
        const pos = main.pos.getNumber(i);
        const t = main.ts.data[i]! + offsetNs;
        const evs: PendingWait[] = [];
        while (k < per.length && per[k]!.pos < pos) evs.push(per[k++]!);
        const waits: SyncWait[] = evs.map((e, j) => ({ kind: e.kind, channel: e.ch, t: e.t, waitNs: (evs[j + 1]?.t ?? t) - e.t, line: e.line }));
        this.syncs.push({ t, startNs: evs[0]?.t ?? t, packetNum: nums[i]!, line: main.line(i), waits });
      }
    }
    this.waits = per.slice(k);
  }

  private knows(): MultifdSide['knows'] {
    const fromPages = payloadFromPages(this.format);
    return {
      normalPages: fromPages || this.format === 'fill+ram_fill',
      zeroPages: this.format === 'normal+zero' || this.format === 'fill+ram_fill',
      bytes: this.packetTable && (fromPages || this.sizeField),
    };
  }

  private channels(): number[] {
    return [...this.lanes.keys()].sort((a, b) => a - b);
  }

  private threadSpans(): ThreadSpan[] {
    return [...this.threads.entries()].sort((a, b) => a[0] - b[0]).map(([channel, s]) => ({
      channel, startNs: s.startNs, endNs: s.endNs, startLine: s.startLine, endLine: s.endLine, endPackets: s.p, endNormalPages: s.n, endZeroPages: s.z,
    }));
  }

  private crossCheck(threads: readonly ThreadSpan[], knows: MultifdSide['knows']): CrossCheck[] {
    // Without packet events (not traced) there is nothing to hold the thread totals against.
    if (!this.packetTable) return [];
    const out: CrossCheck[] = [];
    for (const th of threads) {
      const lane = this.lanes.get(th.channel);
      const add = (what: CrossCheck['what'], fromPackets: number, fromThreadEnd: number | null, delta = 0): void => {
        if (fromThreadEnd !== null && Number.isFinite(fromThreadEnd)) out.push({ channel: th.channel, what, fromPackets, fromThreadEnd, ok: fromPackets + delta === fromThreadEnd });
      };
      add('packets', lane?.rows.length ?? 0, th.endPackets, packetDelta(this.format));
      if (knows.normalPages) add('normalPages', lane?.normal ?? 0, th.endNormalPages);
      if (knows.zeroPages) add('zeroPages', lane?.zero ?? 0, th.endZeroPages);
    }
    return out;
  }

  /** How this side's bytes are counted, as far as the batches so far tell. */
  bytesRule(): MultifdBytesRule {
    return bytesRule(this.format, this.pageSize ?? 4096, this.pageSize === undefined ? 'assumed' : 'query-migrate', this.stale, this.traced);
  }

  /** The side as the model holds it (packets copied into lane order); null when the trace has no multifd events of this direction. */
  result(): MultifdSide | null {
    if (!this.seen) return null;
    const channels = this.channels();
    const laneStart = new Uint32Array(channels.length + 1);
    channels.forEach((c, k) => { laneStart[k + 1] = laneStart[k]! + this.lanes.get(c)!.rows.length; });
    const m = laneStart[channels.length]!;
    const packets: PacketColumns = { t: new Float64Array(m), packetNum: new Float64Array(m), normal: new Uint32Array(m), zero: new Uint32Array(m), bytes: new Uint32Array(m), flags: new Uint32Array(m), line: new Uint32Array(m) };
    channels.forEach((c, k) => {
      const rows = this.lanes.get(c)!.rows.view();
      for (const key of Object.keys(PACKET_SCHEMA) as (keyof PacketRows)[]) packets[key].set(rows[key] as never, laneStart[k]!);
    });
    const knows = this.knows();
    const threads = this.threadSpans();
    return {
      side: this.side, format: this.format, knows, channels, laneStart, packets, syncs: [...this.syncs], threads,
      crossCheck: this.crossCheck(threads, knows), limits: LIMITS[this.format](this.dir), bytesRule: this.bytesRule(),
    };
  }

  /** What the batches since the last take added; null when they added nothing to this side. */
  takeDelta(): MultifdDelta | null {
    if (!this.changed || !this.seen) return null;
    this.changed = false;
    const channels = this.channels();
    const parts = channels.map((c) => this.lanes.get(c)!.rows.takeAdded());
    const counts = parts.map((p) => p.t.length);
    const total = counts.reduce((a, b) => a + b, 0);
    const packets: PacketColumns = { t: new Float64Array(total), packetNum: new Float64Array(total), normal: new Uint32Array(total), zero: new Uint32Array(total), bytes: new Uint32Array(total), flags: new Uint32Array(total), line: new Uint32Array(total) };
    let o = 0;
    for (const p of parts) {
      for (const key of Object.keys(PACKET_SCHEMA) as (keyof PacketRows)[]) packets[key].set(p[key] as never, o);
      o += p.t.length;
    }
    const syncs = this.syncs.slice(this.syncsTaken);
    this.syncsTaken = this.syncs.length;
    const knows = this.knows();
    const threads = this.threadSpans();
    return {
      side: this.side, format: this.format, knows, channels, added: { counts, packets }, syncs, threads,
      crossCheck: this.crossCheck(threads, knows), limits: LIMITS[this.format](this.dir), bytesRule: this.bytesRule(),
    };
  }

  /** Marks everything as taken (the side went out whole, in a model). */
  markTaken(): void {
    this.changed = false;
    for (const l of this.lanes.values()) l.rows.dropAdded();
    this.syncsTaken = this.syncs.length;
  }
}

/**
 * Multifd analysis of one side; null when the trace has no multifd events of that direction.
 * pageSize is the target page size when QEMU reported it (query-migrate ram.page-size).
 */
export function analyzeMultifd(store: TraceStore, side: Side, offsetNs = 0, pageSize?: number): MultifdSide | null {
  const b = new MultifdBuilder(side, pageSize);
  b.add(store, offsetNs);
  return b.result();
}
