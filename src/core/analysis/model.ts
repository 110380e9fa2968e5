/**
 * The migration model the analyses produce and the view draws: plain objects of typed
 * arrays (structured-clonable, buffers transferable), no classes, no DOM, no Node.
 *
 * Times are ns relative to MigrationModel.originNs (the earliest loaded trace), so the
 * source and the destination share one axis. `line` is the 1-based line (or simpletrace
 * byte offset) in the side's trace file.
 */

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
  /** Payload bytes (next_packet_size). */
  readonly bytes: Uint32Array;
  readonly flags: Uint32Array;
  readonly line: Uint32Array;
}

export interface SyncWait {
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
  readonly version: string;
  readonly events: number;
  readonly malformed: number;
  readonly lines: number;
  readonly firstNs: number;
  readonly lastNs: number;
  readonly parseMs: number;
}

export interface MigrationModel {
  /** Absolute time (ns; epoch for realtime clocks) of t = 0, as a decimal string. */
  readonly originNs: string;
  readonly traces: readonly TraceInfo[];
  readonly send: MultifdSide | null;
  readonly recv: MultifdSide | null;
  readonly postcopy: PostcopyData | null;
  readonly phases: readonly Phase[];
}
