/**
 * The migration model of one or two traces, built batch by batch: the whole of each file as
 * one batch when it is read, then every batch of lines appended while it is followed. The
 * per-event analyses (multifd packets and rounds, postcopy faults and placements) take each
 * batch's rows and keep only what the model holds; the small analyses (phases, downtime,
 * QEMU's traced counters) run again on the few rows kept of their events. Nothing else of a
 * trace is kept: following a trace costs what its new lines cost, and memory grows with
 * what the view shows, not with the trace.
 *
 * What the batches since the last take changed is a MigrationDelta (applyDelta puts it on a
 * model): only new rows, plus the small parts whole.
 */
import { choiceAfterRead, type CatalogueChoice } from '../trace/catalogueResolver';
import { TraceStore } from '../trace/store';
import { appendStore, pickRows } from '../trace/storeTransfer';
import type { MigrationDelta } from './delta';
import { analyzeDowntime, DOWNTIME_EVENTS, greetingVersions } from './downtime';
import type { MigrationModel, MultifdSide, PacketColumns, Phase, QemuFigures, QemuReport, Side, TraceInfo } from './model';
import { MultifdBuilder } from './multifd';
import { PHASE_EVENTS, qmpPhases, tracePhases } from './phases';
import { PostcopyBuilder } from './postcopy';
import { recvSizesFromOldSource, takeSendPayloads } from './transit';
import { lastQueryMigrate, maxBandwidth, reportedDowntime, TRACED_COUNTERS_EVENT, tracedCounters, wallTime } from './qemuReported';

/** Events whose rows are kept whole for the small analyses. */
const KEPT_EVENTS = new Set([...PHASE_EVENTS, ...DOWNTIME_EVENTS]);
/** Events of which only the last row is kept. */
const LAST_ROW_EVENTS = new Set([TRACED_COUNTERS_EVENT]);
/** Counted events the model reads the number of (postcopy page requests). */
const REQUESTS_SERVED = 'migrate_handle_rp_req_pages';
const REQUESTS_NEW = 'postcopy_page_req_add';

export interface LiveTraceInput {
  readonly path: string;
  readonly side: Side;
  readonly store: TraceStore;
  readonly version: string;
  readonly choice: CatalogueChoice;
  readonly parseMs: number;
}

interface FileState {
  readonly input: Omit<LiveTraceInput, 'store'>;
  /** Offset of the file's times on the model's axis; null until the file has a timed line. */
  offsetNs: number | null;
  multifd: MultifdBuilder;
  postcopy: PostcopyBuilder | null;
  kept: TraceStore;
  counts: Map<string, number>;
  events: number;
  unknown: number;
  malformed: number;
  lines: number;
  /** First and last event time, relative to the file's time base. */
  firstNs: number;
  lastNs: number;
}

export class LiveMigration {
  private origin: bigint | null;
  /** Received packets whose traced size was replaced by the matched sent packet's payload. */
  private recvStale = 0;
  private readonly files: FileState[] = [];
  private readonly pageSize: number | undefined;
  private readonly replies: { src: QemuFigures | null; dst: QemuFigures | null };

  /**
   * inputs: the traces as first read (their stores are not kept); transcript: the QMP
   * transcript beside them; finals: the final query-migrate files (before the transcript's replies).
   */
  constructor(
    inputs: readonly LiveTraceInput[],
    private transcript: string | null,
    private readonly finals: { readonly src: QemuFigures | null; readonly dst: QemuFigures | null } = { src: null, dst: null },
  ) {
    const known = inputs.map((l) => l.store.baseTimeNs).filter((b): b is bigint => b !== null);
    this.origin = known.length ? known.reduce((a, b) => (b < a ? b : a)) : null;
    this.replies = transcript === null ? { src: null, dst: null } : lastQueryMigrate(transcript, 'qmp.jsonl');
    const src = finals.src ?? this.replies.src, dst = finals.dst ?? this.replies.dst;
    this.pageSize = src?.pageSize ?? dst?.pageSize ?? undefined;
    for (const { store, ...input } of inputs) {
      const f = this.newFile(input);
      this.files.push(f);
      this.addTo(f, store);
    }
  }

  private newFile(input: Omit<LiveTraceInput, 'store'>): FileState {
    return {
      input, offsetNs: null,
      multifd: new MultifdBuilder(input.side, this.pageSize),
      postcopy: input.side === 'dst' ? new PostcopyBuilder() : null,
      kept: new TraceStore(), counts: new Map(),
      events: 0, unknown: 0, malformed: 0, lines: 0, firstNs: Infinity, lastNs: -Infinity,
    };
  }

  private offsetOf(f: FileState, store: TraceStore): number {
    if (f.offsetNs !== null) return f.offsetNs;
    const base = store.baseTimeNs;
    if (base === null) return 0;
    this.origin ??= base;
    f.offsetNs = Number(base - this.origin);
    return f.offsetNs;
  }

  private addTo(f: FileState, store: TraceStore): void {
    const offset = this.offsetOf(f, store);
    f.multifd.add(store, offset);
    f.postcopy?.add(store, offset);
    const lastRows = new Set<string>();
    const part = pickRows(store, (t) => {
      if (KEPT_EVENTS.has(t.name)) return [0, t.count];
      if (LAST_ROW_EVENTS.has(t.name)) { lastRows.add(t.name); return [t.count - 1, t.count]; }
      return null;
    });
    for (const name of lastRows) f.kept.tables.delete(name);
    appendStore(f.kept, part, 0);
    for (const name of store.names()) f.counts.set(name, (f.counts.get(name) ?? 0) + store.count(name));
    f.events += store.count();
    f.unknown += store.unknownEvents;
    f.malformed += store.malformedCount;
    f.lines += store.lines;
    const span = store.timeSpan();
    if (span) { f.firstNs = Math.min(f.firstNs, span.firstNs); f.lastNs = Math.max(f.lastNs, span.lastNs); }
  }

  /** Appends a batch of file i (the lines after those taken before, timed from the same base). */
  append(i: number, batch: TraceStore): void {
    this.addTo(this.files[i]!, batch);
  }

  /** File i was truncated or replaced: what it gave is dropped, the next batches start it over. */
  reset(i: number): void {
    const old = this.files[i]!;
    this.files[i] = this.newFile({ ...old.input, parseMs: 0 });
    // With no other file timed, the file's new start is the axis' new origin.
    if (this.files.every((f) => f.offsetNs === null)) this.origin = null;
  }

  /** The QMP transcript beside the traces was read again (a lab run may still be writing it). */
  setTranscript(transcript: string | null): void {
    this.transcript = transcript;
  }

  private offsets(): number[] {
    return this.files.map((f) => f.offsetNs ?? 0);
  }

  private traces(): TraceInfo[] {
    const offsets = this.offsets();
    const greeted = greetingVersions(this.transcript);
    return this.files.map((f, i) => {
      const timed = f.firstNs <= f.lastNs;
      return {
        side: f.input.side, path: f.input.path, version: f.input.version, ranVersion: greeted[f.input.side] ?? null,
        catalogue: choiceAfterRead(f.input.choice, { events: f.events, unknown: f.unknown, malformed: f.malformed }),
        events: f.events, unknownEvents: f.unknown, malformed: f.malformed, lines: f.lines,
        firstNs: (timed ? f.firstNs : 0) + offsets[i]!, lastNs: (timed ? f.lastNs : 0) + offsets[i]!, parseMs: f.input.parseMs,
      };
    });
  }

  private phases(): Phase[] {
    const offsets = this.offsets();
    const phases: Phase[] = this.files.flatMap((f, i) => tracePhases(f.kept, f.input.side, offsets[i]!));
    if (this.transcript !== null && this.origin !== null) phases.push(...qmpPhases(this.transcript, this.origin));
    return phases.sort((a, b) => a.t - b.t);
  }

  private qemu(): QemuReport {
    const src = this.files.find((f) => f.input.side === 'src');
    return {
      src: this.finals.src ?? this.replies.src,
      dst: this.finals.dst ?? this.replies.dst,
      wall: this.transcript === null ? null : wallTime(this.transcript),
      tracedCounters: src ? tracedCounters(src.kept) : null,
      maxBandwidth: this.transcript === null ? null : maxBandwidth(this.transcript, 'qmp.jsonl'),
    };
  }

  /** The small parts of the model, made again from what is kept. */
  private smallParts(): Pick<MigrationModel, 'originNs' | 'traces' | 'phases' | 'downtime' | 'qemu' | 'postcopyRequests'> {
    const offsets = this.offsets();
    const qemu = this.qemu();
    const src = this.files.find((f) => f.input.side === 'src'), dst = this.files.find((f) => f.input.side === 'dst');
    const counted = (f: FileState | undefined, name: string): number | null => (f && f.counts.has(name) ? f.counts.get(name)! : null);
    return {
      originNs: (this.origin ?? 0n).toString(),
      traces: this.traces(),
      phases: this.phases(),
      downtime: analyzeDowntime(this.files.map((f, i) => ({ store: f.kept, side: f.input.side, offsetNs: offsets[i]!, version: f.input.version })), this.transcript, reportedDowntime(qemu.src)),
      qemu,
      postcopyRequests: { servedBySource: counted(src, REQUESTS_SERVED), newOnDestination: counted(dst, REQUESTS_NEW) },
    };
  }

  /** The whole model (its arrays are copies: the caller may transfer them). What was added counts as taken. */
  model(): MigrationModel {
    const src = this.files.find((f) => f.input.side === 'src'), dst = this.files.find((f) => f.input.side === 'dst');
    const send = src ? src.multifd.result() : null;
    let recv = dst ? dst.multifd.result() : null;
    this.recvStale = 0;
    if (send && recv && recvSizesFromOldSource(send, recv)) recv = this.withSendPayloads(send, recv, recv.laneStart, recv.packets);
    const model: MigrationModel = {
      ...this.smallParts(),
      send, recv,
      postcopy: dst?.postcopy ? dst.postcopy.result() : null,
    };
    for (const f of this.files) { f.multifd.markTaken(); f.postcopy?.markTaken(); }
    return model;
  }

  /** What the batches appended since the last model or delta changed. */
  takeDelta(): MigrationDelta {
    const src = this.files.find((f) => f.input.side === 'src'), dst = this.files.find((f) => f.input.side === 'dst');
    const send = src ? src.multifd.takeDelta() : null;
    let recv = dst ? dst.multifd.takeDelta() : null;
    const whole = recv && src && recvSizesFromOldSource({ bytesRule: src.multifd.bytesRule() }, recv) ? src.multifd.result() : null;
    if (recv && whole) {
      const laneStart = new Uint32Array(recv.added.counts.length + 1);
      recv.added.counts.forEach((n, k) => { laneStart[k + 1] = laneStart[k]! + n; });
      recv = this.withSendPayloads(whole, recv, laneStart, recv.added.packets);
    }
    return {
      ...this.smallParts(),
      send, recv,
      postcopy: dst?.postcopy ? dst.postcopy.takeDelta() : null,
    };
  }

  /**
   * A pre-9.2 source and a 9.2+ destination: the received packets take the payloads of the sent
   * ones they match (takeSendPayloads), and the destination's rule says so, with the stale sizes
   * replaced so far.
   */
  private withSendPayloads<T extends Pick<MultifdSide, 'channels' | 'bytesRule'>>(send: MultifdSide, recv: T, laneStart: Uint32Array, packets: PacketColumns): T {
    this.recvStale += takeSendPayloads(send, { channels: recv.channels, laneStart, packets }).stale;
    return { ...recv, bytesRule: { ...recv.bytesRule, payload: 'source-packets', staleSizes: this.recvStale } };
  }
}
