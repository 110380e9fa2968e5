/**
 * The trace's figures beside QEMU's own (query-migrate, and the counters QEMU traces), with
 * the difference and, where it is known, why they differ; and the one duration of the
 * migration with its source named. Whole-migration figures: QEMU reports no others.
 * Plain data, shared by the CLI and the webview.
 */
import type { MigrationModel, MultifdSide, Phase, QemuFigures, Side } from './model';
import type { ChannelTotals } from './sideIndex';

export type CheckUnit = 'bytes' | 'pages' | 'ms' | 'requests';

export interface QemuCheck {
  /** query-migrate member (or counter) compared. */
  readonly key: 'multifd-bytes' | 'normal' | 'duplicate' | 'transferred' | 'total-time' | 'downtime' | 'postcopy-requests' | 'postcopy-blocktime';
  readonly label: string;
  readonly unit: CheckUnit;
  /** The QEMU whose figure it is, and where it was read. */
  readonly side: Side;
  readonly from: string;
  readonly qemu: number;
  /** The trace's figure, null when the trace cannot tell. */
  readonly trace: number | null;
  /** How the trace figure is made (or why there is none). */
  readonly how: string;
  /** trace − qemu. */
  readonly diff: number | null;
  /** Whether they agree: exact for counts, within a millisecond for times; null when the two measure different spans. */
  readonly agrees: boolean | null;
  /** Why they differ, where that is known. */
  readonly note: string | null;
}

export type DurationSource = 'QEMU total-time' | 'trace setup → completed' | 'QMP migrate → completed' | 'trace span';

export interface DurationFigure { readonly ms: number; readonly source: DurationSource; readonly detail: string }

/** One duration per migration, its source named, and the other measures beside it. */
export interface MigrationDuration extends DurationFigure {
  readonly others: readonly (DurationFigure & { readonly diffMs: number })[];
}

const ENDS = new Set(['completed', 'failed', 'cancelled']);

/** From the first traced `setup` to the first traced end state of one side, ms. */
function tracedSpan(phases: readonly Phase[], side: Side, from: (s: string) => boolean, to: (s: string) => boolean): number | null {
  const start = phases.find((p) => p.from === 'trace' && p.side === side && from(p.state));
  if (!start) return null;
  const end = phases.find((p) => p.from === 'trace' && p.side === side && p.t >= start.t && to(p.state));
  return end ? (end.t - start.t) / 1e6 : null;
}

export function migrationDuration(m: MigrationModel): MigrationDuration | null {
  const all: DurationFigure[] = [];
  const q = m.qemu.src;
  if (q?.totalTimeMs !== null && q?.totalTimeMs !== undefined) all.push({ ms: q.totalTimeMs, source: 'QEMU total-time', detail: `${q.from}, status ${q.status ?? '?'}` });
  const traced = tracedSpan(m.phases, 'src', (s) => s === 'setup', (s) => ENDS.has(s));
  if (traced !== null) all.push({ ms: traced, source: 'trace setup → completed', detail: 'migrate_set_state in the source trace' });
  const w = m.qemu.wall;
  if (w) all.push({ ms: w.endMs - w.startMs, source: 'QMP migrate → completed', detail: `wall clock of the QMP transcript: the migrate command to MIGRATION ${w.status}` });
  if (m.traces.length) {
    const lo = Math.min(...m.traces.map((t) => t.firstNs)), hi = Math.max(...m.traces.map((t) => t.lastNs));
    all.push({ ms: (hi - lo) / 1e6, source: 'trace span', detail: 'first to last event of the loaded traces' });
  }
  const [first, ...rest] = all;
  return first ? { ...first, others: rest.map((o) => ({ ...o, diffMs: o.ms - first.ms })) } : null;
}

const sum = (cs: readonly ChannelTotals[] | null, k: 'packets' | 'normalPages' | 'zeroPages' | 'bytes' | 'payloadBytes'): number | null =>
  cs === null || cs.some((c) => c[k] === null) ? null : cs.reduce((n, c) => n + (c[k] ?? 0), 0);

const int = (n: number): string => Math.round(n).toLocaleString('en-US');

function bytesHow(side: MultifdSide, totals: readonly ChannelTotals[]): string {
  const r = side.bytesRule;
  const packets = sum(totals, 'packets') ?? 0;
  const payload = r.payload === 'pages'
    ? `${int(sum(totals, 'normalPages') ?? 0)} normal pages × ${int(r.pageSize)} B`
    : `${int(sum(totals, 'payloadBytes') ?? 0)} B of traced packet sizes`;
  const hs = r.handshakeBytes ? ` + ${totals.length} channels × ${r.handshakeBytes} B handshake` : '';
  return `${payload} + ${int(packets)} packets × ${int(r.headerBytes)} B header${hs}${r.pageSizeFrom === 'assumed' ? ' (page size assumed)' : ''}`;
}

interface Inputs {
  readonly model: MigrationModel;
  /** Whole-trace totals per channel of each side. */
  readonly send: readonly ChannelTotals[] | null;
  readonly postcopy: { readonly faultRequests: number | null; readonly blocktimeTotal: number | null };
  /** The source's traced src-downtime-start → src-downtime-end (QEMU 8.2+), ms. */
  readonly downtimeWindowMs?: number | null;
}

/** Every figure QEMU reported that the trace can be held against. */
export function qemuChecks({ model: m, send, postcopy, downtimeWindowMs = null }: Inputs): QemuCheck[] {
  const out: QemuCheck[] = [];
  const add = (f: QemuFigures | null, key: QemuCheck['key'], label: string, unit: CheckUnit, qemu: number | null | undefined, trace: number | null, how: string, exact: boolean | 'span', note: (diff: number) => string | null = () => null): void => {
    if (!f || qemu === null || qemu === undefined || (qemu === 0 && trace === null)) return;
    const diff = trace === null ? null : unit === 'ms' ? Math.round((trace - qemu) * 1000) / 1000 : trace - qemu;
    const agrees = diff === null || exact === 'span' ? null : exact ? diff === 0 : Math.abs(diff) <= 1;
    out.push({ key, label, unit, side: f.side, from: f.from, qemu, trace, how, diff, agrees, note: diff === null || agrees === true ? (trace === null ? null : note(0)) : note(diff) });
  };
  const src = m.qemu.src, s = m.send;
  const old = s !== null && (s.format === 'normal' || s.format === 'pages');
  const bytes = s && send ? sum(send, 'bytes') : null;
  const bytesEqual = bytes !== null && src?.multifdBytes === bytes;
  add(src, 'multifd-bytes', 'multifd bytes', 'bytes', src?.multifdBytes, bytes, s && send && bytes !== null ? bytesHow(s, send) : 'the source trace has no multifd packet sizes', true);
  const normal = s?.knows.normalPages && send ? sum(send, 'normalPages') : null;
  add(src, 'normal', 'normal pages', 'pages', src?.normalPages, normal, normal === null ? 'the source trace has no multifd packets with page counts' : 'normal pages of the traced packets', true, (d) =>
    d > 0 && old && bytesEqual
      ? `QEMU 7.2 counts ram.normal when it queues a page; multifd_queue_page can queue the page that filled a packet a second time, so ${int(d)} pages travelled twice (multifd-bytes counts them both)`
      : null);
  const zero = s?.knows.zeroPages && send ? sum(send, 'zeroPages') : null;
  add(src, 'duplicate', 'zero pages', 'pages', src?.zeroPages, zero, zero === null ? 'this trace format does not carry zero pages' : 'zero pages of the traced packets', true, (d) =>
    zero === 0 && d < 0 ? 'zero pages were found on the main channel (zero-page-detection legacy): they travel outside the multifd packets' : null);
  const c = m.qemu.tracedCounters;
  add(src, 'transferred', 'bytes transferred', 'bytes', src?.transferredBytes, c ? c.qemuFile + c.multifd + c.rdma : null,
    c ? `QEMU's counters in the source trace (migration_transferred_bytes, line ${c.line}): main channel ${int(c.qemuFile)} + multifd ${int(c.multifd)}` : 'the source trace does not count main-channel bytes (migration_transferred_bytes not traced)', true);
  add(src, 'total-time', 'total time', 'ms', src?.totalTimeMs, tracedSpan(m.phases, 'src', (x) => x === 'setup', (x) => ENDS.has(x)), 'source trace: setup → completed (migrate_set_state)', false);
  if (downtimeWindowMs !== null) {
    // QEMU 8.2+ traces the very instants its downtime clock reads.
    add(src, 'downtime', 'downtime', 'ms', src?.downtimeMs, downtimeWindowMs, 'source trace: vmstate_downtime_checkpoint src-downtime-start → src-downtime-end', false);
  } else {
    add(src, 'downtime', 'downtime', 'ms', src?.downtimeMs, tracedSpan(m.phases, 'src', (x) => x === 'vm stop', (x) => ENDS.has(x)), 'source trace: vm stop → completed', 'span', () =>
      "QEMU's downtime clock starts before it stops the VM and ends after the state change, so the traced span is shorter");
  }
  // QEMU counts a request when the source serves it; the destination traces only new ones, and faults on pages that arrived meanwhile send none.
  const req = m.postcopyRequests;
  const [reqTrace, reqHow, reqExact]: [number | null, string, boolean | 'span'] = req.servedBySource !== null
    ? [req.servedBySource, 'requests the source trace served (migrate_handle_rp_req_pages)', true]
    : req.newOnDestination !== null
      ? [req.newOnDestination, 'new page requests in the destination trace (postcopy_page_req_add; a page requested again is not traced)', 'span']
      : [postcopy.faultRequests, 'fault requests in the destination trace (postcopy_ram_fault_thread_request; a fault on a page that arrived meanwhile sends no request)', 'span'];
  add(src, 'postcopy-requests', 'postcopy page requests', 'requests', src?.postcopyRequests, reqTrace, reqHow, reqExact);
  const dst = m.qemu.dst;
  add(dst, 'postcopy-blocktime', 'postcopy blocktime', 'ms', dst?.postcopyBlocktimeMs, postcopy.blocktimeTotal, 'destination trace: postcopy_ram_incoming_cleanup_blocktime', false);
  return out;
}
