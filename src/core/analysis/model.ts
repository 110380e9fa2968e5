/**
 * The migration model the analyses produce and the view draws: plain objects of typed
 * arrays (structured-clonable, buffers transferable), no classes, no DOM, no Node.
 *
 * Times are ns relative to MigrationModel.originNs (the earliest loaded trace), so the
 * source and the destination share one axis. `line` is the 1-based line (or simpletrace
 * byte offset) in the side's trace file.
 */

import type { CatalogueChoice } from '../trace/catalogueResolver';

export type Side = 'src' | 'dst';

/** Which per-packet page counts a multifd trace format carries. */
export type MultifdFormat =
  | 'pages'            // ≤ 6.x and 7.x recv: one page count
  | 'normal'           // 7.x–8.x send: normal pages
  | 'normal+zero'      // 9.0–9.1: normal and zero pages
  | 'fill+ram_fill'    // 9.2+ source: multifd_send_fill + multifd_send_ram_fill (normal, zero)
  | 'fill'             // 9.2+ without page counts (multifd_recv_unfill, or ram_fill not traced)
  | 'none';

/** Packets of one side, grouped by channel (lane), ascending time within each lane. */
export interface PacketColumns {
  readonly t: Float64Array;
  readonly packetNum: Float64Array;
  /** Normal pages; 0 where unknown (see MultifdSide.knows). */
  readonly normal: Uint32Array;
  readonly zero: Uint32Array;
  /** Payload bytes after the header, as MultifdSide.bytesRule says (pages × page size, or next_packet_size). */
  readonly bytes: Uint32Array;
  readonly flags: Uint32Array;
  readonly line: Uint32Array;
}

export interface SyncWait {
  /**
   * Which step of the round: the main thread's `signal` to a channel or its `wait` for one
   * (multifd_{send,recv}_sync_main_signal / _wait). The source signals every channel to send
   * its sync packet, then waits for each; the destination waits until every channel has
   * received one, then signals them to go on.
   */
  readonly kind: 'signal' | 'wait';
  /** The channel id the event names (multifd_recv_sync_main_wait names its loop index). */
  readonly channel: number;
  readonly t: number;
  /** Time from this wait/signal event to the next event of the round (the main thread waiting on this channel). */
  readonly waitNs: number;
  readonly line: number;
}

/** One multifd_{send,recv}_sync_main round. */
export interface SyncRound {
  readonly t: number;
  readonly startNs: number;
  readonly packetNum: number;
  readonly line: number;
  readonly waits: readonly SyncWait[];
}

export interface ThreadSpan {
  readonly channel: number;
  readonly startNs: number | null;
  readonly endNs: number | null;
  readonly startLine: number | null;
  readonly endLine: number | null;
  /** Totals the thread reported in *_thread_end; null when absent from the event or the trace. */
  readonly endPackets: number | null;
  readonly endNormalPages: number | null;
  readonly endZeroPages: number | null;
}

export interface CrossCheck {
  readonly channel: number;
  readonly what: 'packets' | 'normalPages' | 'zeroPages';
  readonly fromPackets: number;
  readonly fromThreadEnd: number;
  readonly ok: boolean;
}

/**
 * How the side's byte figures are made, so that they follow QEMU's own multifd-bytes:
 * per packet its header plus its payload, per channel its handshake (where QEMU counts it).
 */
export interface MultifdBytesRule {
  /**
   * Payload of a packet: its pages × page size (before 9.2), its traced next_packet_size (9.2+),
   * or, on a 9.2+ destination of a pre-9.2 source, the matched source packet's payload
   * ('source-packets': the sizes such a destination traces are the source's, stale on its sync packets).
   */
  readonly payload: 'pages' | 'next_packet_size' | 'source-packets';
  readonly pageSize: number;
  /** query-migrate's ram.page-size, or assumed (4 KiB) when no query-migrate reply was recorded. */
  readonly pageSizeFrom: 'query-migrate' | 'assumed';
  /** Header bytes QEMU counts per packet (MultiFDPacket_t with its page offsets). */
  readonly headerBytes: number;
  /** Bytes of a channel's first message (MultiFDInit_t) QEMU counts; 0 where it does not. */
  readonly handshakeBytes: number;
  /** Packets whose traced next_packet_size is not their payload (stale sizes of pre-9.2 sync packets); 0 for 9.2+. */
  readonly staleSizes: number;
  /** The traced next_packet_size summed over every packet, stale or not. */
  readonly tracedSizeBytes: number;
}

export interface MultifdSide {
  readonly side: Side;
  readonly format: MultifdFormat;
  readonly knows: { readonly normalPages: boolean; readonly zeroPages: boolean; readonly bytes: boolean };
  /** Channel ids in lane order. */
  readonly channels: readonly number[];
  /** Lane k holds packets [laneStart[k], laneStart[k+1]). */
  readonly laneStart: Uint32Array;
  readonly packets: PacketColumns;
  readonly syncs: readonly SyncRound[];
  readonly threads: readonly ThreadSpan[];
  readonly crossCheck: readonly CrossCheck[];
  /** Sentences saying what this trace cannot tell. */
  readonly limits: readonly string[];
  readonly bytesRule: MultifdBytesRule;
}

/** Faults in request order (ascending time). */
export interface FaultColumns {
  readonly t: Float64Array;
  /** Index into PostcopyData.ramBlocks. */
  readonly rb: Uint32Array;
  readonly offset: Float64Array;
  readonly tid: Uint32Array;
  /** Request → placement, NaN when never placed in the trace. */
  readonly latencyNs: Float64Array;
  readonly line: Uint32Array;
  readonly placedLine: Uint32Array;
}

export interface PlacementColumns {
  readonly t: Float64Array;
  /** Index into ramBlocks, 0xffffffff when the host address maps to no known RAMBlock. */
  readonly rb: Uint32Array;
  readonly offset: Float64Array;
  readonly zero: Uint8Array;
  readonly line: Uint32Array;
}

export const SHARED_KINDS = ['request', 'present', 'wake', 'backendFault', 'backendWaker'] as const;
export type SharedKind = typeof SHARED_KINDS[number];

export interface SharedColumns {
  readonly t: Float64Array;
  /** Index into SHARED_KINDS. */
  readonly kind: Uint8Array;
  readonly rb: Uint32Array;
  readonly offset: Float64Array;
  readonly line: Uint32Array;
}

export interface PostcopyData {
  readonly ramBlocks: readonly string[];
  readonly faults: FaultColumns;
  readonly placements: PlacementColumns;
  readonly shared: SharedColumns;
  /** postcopy_ram_incoming_cleanup_blocktime total (as QEMU reports it, ms), null when absent. */
  readonly blocktimeTotal: number | null;
  readonly blocktimeEvents: number;
  readonly limits: readonly string[];
}

export interface Phase {
  readonly t: number;
  readonly side: Side;
  readonly state: string;
  readonly from: 'trace' | 'qmp';
  /** Trace line, 0 for QMP events. */
  readonly line: number;
}

export interface TraceInfo {
  readonly side: Side;
  readonly path: string;
  /** The built-in QEMU version closest to the trace ("QEMU ≈ version"). */
  readonly version: string;
  /** The version this side's QEMU said in its QMP greeting (the recording's transcript); null when none was recorded. */
  readonly ranVersion: string | null;
  /** Which catalogue decoded this trace, and why. */
  readonly catalogue: CatalogueChoice;
  readonly events: number;
  /** Events whose name the catalogue does not have (kept as text, counted in events). */
  readonly unknownEvents: number;
  readonly malformed: number;
  readonly lines: number;
  readonly firstNs: number;
  readonly lastNs: number;
  readonly parseMs: number;
}

/** One device's share of the stop-and-copy, from vmstate_downtime_save (source) or vmstate_downtime_load (destination). */
export interface DowntimeDevice {
  /** 'iterable' or 'non-iterable', as QEMU traced it. */
  readonly type: string;
  readonly idstr: string;
  readonly instanceId: number;
  /** Time in the device's save or load handler, µs (QEMU's own measurement). */
  readonly us: number;
  /** QEMU traces the event when the handler returns: endNs is the event's time, startNs = endNs − us. */
  readonly startNs: number;
  readonly endNs: number;
  readonly line: number;
}

/** A vmstate_downtime_checkpoint (src-downtime-start, dst-precopy-bh-vm-started, ...). */
export interface DowntimeCheckpoint {
  readonly name: string;
  readonly t: number;
  readonly line: number;
}

export interface DowntimeSide {
  readonly side: Side;
  /** Whether the trace can tell: 'traced', or why not (the events do not exist in that QEMU, or were not enabled). */
  readonly status: 'traced' | 'not-in-version' | 'not-enabled' | 'unknown-to-catalogue';
  /** QEMU version this side ran (QMP greeting, else the catalogue that decoded the trace). */
  readonly qemuVersion: string;
  /** Sentence for a user when status is not 'traced'. */
  readonly note: string | null;
  /** Ascending startNs (the waterfall's order). */
  readonly devices: readonly DowntimeDevice[];
  /** Ascending time. */
  readonly checkpoints: readonly DowntimeCheckpoint[];
}

/** What QEMU itself reported: query-migrate's `downtime` (ms) on the source after completion. */
export interface ReportedDowntime {
  readonly ms: number;
  /** Where it was read: final-query-migrate-src.json or qmp.jsonl. */
  readonly from: string;
}

export interface DowntimeData {
  /** null when that side's trace is not loaded. */
  readonly source: DowntimeSide | null;
  readonly destination: DowntimeSide | null;
  readonly reported: ReportedDowntime | null;
  /** True when both traces carry realtime stamps, so source and destination times compare (same host clock). */
  readonly sameClock: boolean;
}

/** What one QEMU reported about the migration (query-migrate), null where it did not say. */
export interface QemuFigures {
  readonly side: Side;
  /** Where the figures were read: "final-query-migrate-src.json", "qmp.jsonl (query-migrate reply of 21:20:51.727)". */
  readonly from: string;
  readonly status: string | null;
  readonly totalTimeMs: number | null;
  readonly setupTimeMs: number | null;
  readonly downtimeMs: number | null;
  readonly multifdBytes: number | null;
  /** ram.normal */
  readonly normalPages: number | null;
  /** ram.duplicate: zero pages */
  readonly zeroPages: number | null;
  readonly transferredBytes: number | null;
  readonly pageSize: number | null;
  readonly postcopyRequests: number | null;
  readonly postcopyBlocktimeMs: number | null;
}

/** QEMU's own totals of the recording, beside which the trace figures are shown. */
export interface QemuReport {
  readonly src: QemuFigures | null;
  readonly dst: QemuFigures | null;
  /** Wall-clock time of the migration in the QMP transcript: the source's migrate command to its MIGRATION completed (or failed) event. */
  readonly wall: { readonly startMs: number; readonly endMs: number; readonly status: string } | null;
  /** QEMU's own byte counters as the source trace reports them (migration_transferred_bytes, QEMU 8.2+), last one. */
  readonly tracedCounters: { readonly qemuFile: number; readonly multifd: number; readonly rdma: number; readonly line: number } | null;
  /** The source's max-bandwidth (bytes/s) when its migration started, as the transcript set it (migrate-set-parameters); null when not recorded. */
  readonly maxBandwidth: { readonly bytesPerSecond: number; readonly from: string } | null;
}

export interface MigrationModel {
  /** Absolute time (ns; epoch for realtime clocks) of t = 0, as a decimal string. */
  readonly originNs: string;
  readonly traces: readonly TraceInfo[];
  readonly send: MultifdSide | null;
  readonly recv: MultifdSide | null;
  readonly postcopy: PostcopyData | null;
  readonly phases: readonly Phase[];
  readonly downtime: DowntimeData;
  readonly qemu: QemuReport;
  /** Postcopy page requests as traced: served by the source (migrate_handle_rp_req_pages) and new ones of the destination (postcopy_page_req_add); null when not traced. */
  readonly postcopyRequests: { readonly servedBySource: number | null; readonly newOnDestination: number | null };
}
