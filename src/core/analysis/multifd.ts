/**
 * Multifd per channel for one side: packets with page counts and sizes, sync rounds
 * with per-channel waits, thread spans, and a cross-check of the per-packet sums against
 * the totals the threads report at exit. Works from argument names for every format
 * QEMU has used (see MultifdFormat).
 */
import type { EventTable, TraceStore } from '../trace/store';
import type { CrossCheck, MultifdFormat, MultifdSide, PacketColumns, Side, SyncRound, SyncWait, ThreadSpan } from './model';
import { CHANNEL, fieldOf, numbers, rowsOf } from './tableAccess';

const NORMAL = ['normal_pages', 'normal', 'pages', 'used'] as const;
const ZERO = ['zero_pages', 'zero'] as const;

interface RawPackets {
  t: Float64Array; ch: Float64Array; num: Float64Array; normal: Float64Array; zero: Float64Array;
  bytes: Float64Array; flags: Float64Array; line: Float64Array;
}

function rawFromTable(t: EventTable, offsetNs: number): RawPackets {
  const n = t.count;
  const time = new Float64Array(n);
  const line = new Float64Array(n);
  for (let i = 0; i < n; i++) { time[i] = t.ts.data[i]! + offsetNs; line[i] = t.line(i); }
  return {
    t: time, line, ch: numbers(t, CHANNEL), num: numbers(t, ['packet_num']), normal: numbers(t, NORMAL), zero: numbers(t, ZERO),
    bytes: numbers(t, ['next_packet_size']), flags: numbers(t, ['flags']),
  };
}

function emptyRaw(): RawPackets {
  const e = new Float64Array(0);
  return { t: e, ch: e, num: e, normal: e, zero: e, bytes: e, flags: e, line: e };
}

/** 9.2+ source: each multifd_send_ram_fill gives the pages of the next multifd_send_fill on its channel. */
function joinRamFill(fill: EventTable, ram: EventTable | undefined, raw: RawPackets): boolean {
  raw.normal.fill(0);
  raw.zero.fill(0);
  if (!ram) return false;
  const rCh = numbers(ram, CHANNEL), rN = numbers(ram, NORMAL), rZ = numbers(ram, ZERO);
  const pending = new Map<number, number>();
  let r = 0;
  for (let i = 0; i < fill.count; i++) {
    const pos = fill.pos.getNumber(i);
    while (r < ram.count && ram.pos.getNumber(r) < pos) { pending.set(rCh[r]!, r); r++; }
    const ch = raw.ch[i]!;
    const k = pending.get(ch);
    if (k !== undefined) { raw.normal[i] = rN[k]!; raw.zero[i] = rZ[k]!; pending.delete(ch); }
  }
  return true;
}

function detectFormat(store: TraceStore, dir: 'send' | 'recv'): { table: EventTable | undefined; format: MultifdFormat } {
  const classic = rowsOf(store, `multifd_${dir}`);
  if (classic) {
    const hasZero = fieldOf(classic, ZERO) !== null;
    const normalName = NORMAL.find((n) => classic.hasField(n));
    const format: MultifdFormat = hasZero ? 'normal+zero' : normalName === 'normal' || normalName === 'normal_pages' ? 'normal' : normalName ? 'pages' : 'none';
    return { table: classic, format };
  }
  const fill = rowsOf(store, dir === 'send' ? 'multifd_send_fill' : 'multifd_recv_unfill');
  if (fill) return { table: fill, format: dir === 'send' && rowsOf(store, 'multifd_send_ram_fill') ? 'fill+ram_fill' : 'fill' };
  return { table: undefined, format: 'none' };
}

interface Lanes { channels: number[]; laneStart: Uint32Array; packets: PacketColumns }

/** Packets grouped by channel (counting sort), ascending time within a channel. */
function toLanes(raw: RawPackets): Lanes {
  const n = raw.t.length;
  const channels = [...new Set(raw.ch)].filter((c) => Number.isFinite(c)).sort((a, b) => a - b);
  const laneOf = new Map(channels.map((c, k) => [c, k]));
  const laneStart = new Uint32Array(channels.length + 1);
  for (let i = 0; i < n; i++) { const k = laneOf.get(raw.ch[i]!); if (k !== undefined) laneStart[k + 1]!++; }
  for (let k = 0; k < channels.length; k++) laneStart[k + 1]! += laneStart[k]!;
  const order = new Uint32Array(laneStart[channels.length]!);
  const fillAt = laneStart.slice(0, channels.length);
  for (let i = 0; i < n; i++) { const k = laneOf.get(raw.ch[i]!); if (k !== undefined) order[fillAt[k]!++] = i; }
  for (let k = 0; k < channels.length; k++) {
    const lane = order.subarray(laneStart[k]!, laneStart[k + 1]!);
    let sorted = true;
    for (let j = 1; j < lane.length && sorted; j++) if (raw.t[lane[j]!]! < raw.t[lane[j - 1]!]!) sorted = false;
    if (!sorted) lane.set(Uint32Array.from(lane).sort((a, b) => raw.t[a]! - raw.t[b]! || a - b));
  }
  const m = order.length;
  const p: PacketColumns = {
    t: new Float64Array(m), packetNum: new Float64Array(m), normal: new Uint32Array(m), zero: new Uint32Array(m),
    bytes: new Uint32Array(m), flags: new Uint32Array(m), line: new Uint32Array(m),
  };
  const z = (v: number): number => (v === v ? v : 0);
  for (let j = 0; j < m; j++) {
    const i = order[j]!;
    p.t[j] = raw.t[i]!; p.packetNum[j] = raw.num[i]!; p.normal[j] = z(raw.normal[i]!); p.zero[j] = z(raw.zero[i]!);
    p.bytes[j] = z(raw.bytes[i]!); p.flags[j] = z(raw.flags[i]!); p.line[j] = raw.line[i]!;
  }
  return { channels, laneStart, packets: p };
}

function syncRounds(store: TraceStore, dir: 'send' | 'recv', offsetNs: number): SyncRound[] {
  const main = rowsOf(store, `multifd_${dir}_sync_main`);
  if (!main) return [];
  const per: { t: number; ch: number; line: number; pos: number }[] = [];
  for (const name of [`multifd_${dir}_sync_main_signal`, `multifd_${dir}_sync_main_wait`]) {
    const t = rowsOf(store, name);
    if (!t) continue;
    const ch = numbers(t, CHANNEL);
    for (let i = 0; i < t.count; i++) per.push({ t: t.ts.data[i]! + offsetNs, ch: ch[i]!, line: t.line(i), pos: t.pos.getNumber(i) });
  }
  per.sort((a, b) => a.pos - b.pos);
  const nums = numbers(main, ['packet_num']);
  const rounds: SyncRound[] = [];
  let k = 0;
  for (let i = 0; i < main.count; i++) {
    const pos = main.pos.getNumber(i);
    const t = main.ts.data[i]! + offsetNs;
    const evs: typeof per = [];
    while (k < per.length && per[k]!.pos < pos) evs.push(per[k++]!);
    const waits: SyncWait[] = evs.map((e, j) => ({ channel: e.ch, t: e.t, waitNs: (evs[j + 1]?.t ?? t) - e.t, line: e.line }));
    rounds.push({ t, startNs: evs[0]?.t ?? t, packetNum: nums[i]!, line: main.line(i), waits });
  }
  return rounds;
}

function threadSpans(store: TraceStore, dir: 'send' | 'recv', offsetNs: number): ThreadSpan[] {
  const spans = new Map<number, { startNs: number | null; startLine: number | null; endNs: number | null; endLine: number | null; p: number | null; n: number | null; z: number | null }>();
  const get = (ch: number): NonNullable<ReturnType<typeof spans.get>> => {
    let s = spans.get(ch);
    if (!s) { s = { startNs: null, startLine: null, endNs: null, endLine: null, p: null, n: null, z: null }; spans.set(ch, s); }
    return s;
  };
  const start = rowsOf(store, `multifd_${dir}_thread_start`);
  if (start) { const ch = numbers(start, CHANNEL); for (let i = 0; i < start.count; i++) { const s = get(ch[i]!); s.startNs = start.ts.data[i]! + offsetNs; s.startLine = start.line(i); } }
  const end = rowsOf(store, `multifd_${dir}_thread_end`);
  if (end) {
    const ch = numbers(end, CHANNEL);
    const pk = fieldOf(end, ['packets']), nm = fieldOf(end, NORMAL), zr = fieldOf(end, ZERO);
    for (let i = 0; i < end.count; i++) {
      const s = get(ch[i]!);
      s.endNs = end.ts.data[i]! + offsetNs; s.endLine = end.line(i);
      s.p = pk ? pk.number(i) : null; s.n = nm ? nm.number(i) : null; s.z = zr ? zr.number(i) : null;
    }
  }
  return [...spans.entries()].sort((a, b) => a[0] - b[0]).map(([channel, s]) => ({
    channel, startNs: s.startNs, endNs: s.endNs, startLine: s.startLine, endLine: s.endLine, endPackets: s.p, endNormalPages: s.n, endZeroPages: s.z,
  }));
}

/**
 * Before 9.2 a channel thread counts its packets from 1 (the initial handshake packet is
 * counted but not traced), so *_thread_end reports one packet more than the trace holds:
 * seen on every channel of both sides in the lab's QEMU 7.2 recordings.
 */
function packetDelta(format: MultifdFormat): number {
  return format === 'pages' || format === 'normal' || format === 'normal+zero' ? 1 : 0;
}

function crossCheck(side: Pick<MultifdSide, 'channels' | 'laneStart' | 'packets' | 'knows' | 'format'>, threads: readonly ThreadSpan[]): CrossCheck[] {
  const out: CrossCheck[] = [];
  for (const th of threads) {
    const k = side.channels.indexOf(th.channel);
    const a = k < 0 ? 0 : side.laneStart[k]!, b = k < 0 ? 0 : side.laneStart[k + 1]!;
    let normal = 0, zero = 0;
    for (let i = a; i < b; i++) { normal += side.packets.normal[i]!; zero += side.packets.zero[i]!; }
    const add = (what: CrossCheck['what'], fromPackets: number, fromThreadEnd: number | null, delta = 0): void => {
      if (fromThreadEnd !== null && Number.isFinite(fromThreadEnd)) out.push({ channel: th.channel, what, fromPackets, fromThreadEnd, ok: fromPackets + delta === fromThreadEnd });
    };
    add('packets', b - a, th.endPackets, packetDelta(side.format));
    if (side.knows.normalPages) add('normalPages', normal, th.endNormalPages);
    if (side.knows.zeroPages) add('zeroPages', zero, th.endZeroPages);
  }
  return out;
}

const LIMITS: Record<MultifdFormat, (dir: 'send' | 'recv') => string[]> = {
  'pages': () => ['This format has one page count per packet: zero pages are not told apart (QEMU before 9.0).'],
  'normal': () => ['This format counts normal pages only: zero pages are not traced (QEMU 7.x–8.x).'],
  'normal+zero': () => [],
  'fill+ram_fill': () => [],
  'fill': (dir) => [dir === 'recv'
    ? 'multifd_recv_unfill (QEMU 9.2+) carries no page counts: normal and zero pages received are unknown; bytes come from the packet size.'
    : 'multifd_send_fill without multifd_send_ram_fill: page counts are unknown (enable multifd_send_ram_fill).'],
  'none': (dir) => [`No multifd_${dir} packet events in this trace.`],
};

/** Multifd analysis of one side; null when the trace has no multifd events of that direction. */
export function analyzeMultifd(store: TraceStore, side: Side, offsetNs = 0): MultifdSide | null {
  const dir = side === 'src' ? 'send' : 'recv';
  const { table, format } = detectFormat(store, dir);
  const hasAny = table !== undefined || rowsOf(store, `multifd_${dir}_thread_start`) !== undefined || rowsOf(store, `multifd_${dir}_sync_main`) !== undefined;
  if (!hasAny) return null;
  const raw: RawPackets = table ? rawFromTable(table, offsetNs) : emptyRaw();
  if (format === 'fill+ram_fill' && table) joinRamFill(table, rowsOf(store, 'multifd_send_ram_fill'), raw);
  const knows = {
    normalPages: format === 'pages' || format === 'normal' || format === 'normal+zero' || format === 'fill+ram_fill',
    zeroPages: format === 'normal+zero' || format === 'fill+ram_fill',
    bytes: table !== undefined && fieldOf(table, ['next_packet_size']) !== null,
  };
  const lanes = toLanes(raw);
  const threads = threadSpans(store, dir, offsetNs);
  for (const th of threads) {
    if (!lanes.channels.includes(th.channel)) {
      // A channel that started but sent nothing still gets a lane.
      const channels = [...lanes.channels, th.channel].sort((a, b) => a - b);
      const laneStart = new Uint32Array(channels.length + 1);
      for (let k = 0; k < channels.length; k++) {
        const old = lanes.channels.indexOf(channels[k]!);
        laneStart[k + 1] = old < 0 ? laneStart[k]! : lanes.laneStart[old + 1]!;
      }
      lanes.channels = channels;
      lanes.laneStart = laneStart;
    }
  }
  const partial = { channels: lanes.channels, laneStart: lanes.laneStart, packets: lanes.packets, knows, format };
  return {
    side, ...partial, syncs: syncRounds(store, dir, offsetNs), threads, crossCheck: crossCheck(partial, threads), limits: LIMITS[format](dir),
  };
}
