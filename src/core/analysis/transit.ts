/**
 * Source + destination together: packets matched by channel and packet number, the
 * transit time of each (receive − send, on the shared clock of one host) and its
 * distribution per channel; channels whose median transit is well above the others lag.
 */
import type { MultifdSide, PacketColumns } from './model';
import { percentile, sortedFinite } from './prefix';

export interface ChannelTransit {
  readonly channel: number;
  readonly matched: number;
  readonly p50Ns: number | null;
  readonly p95Ns: number | null;
  readonly maxNs: number | null;
  readonly lagging: boolean;
}

export interface TransitData {
  /** Per send packet (same index as send.packets): dst time − src time, NaN when unmatched. */
  readonly transitNs: Float64Array;
  /** Per send packet: index of the matching recv packet, -1 when unmatched. */
  readonly recvIndex: Int32Array;
  readonly channels: readonly ChannelTransit[];
  readonly unmatchedSend: number;
  readonly unmatchedRecv: number;
}

/** A lane lags when its median transit exceeds this multiple of the median over all lanes. */
const LAG_FACTOR = 1.5;

/** Packets lane after lane: the channels, where each lane starts, the packet numbers. */
interface Lanes {
  readonly channels: readonly number[];
  readonly laneStart: Uint32Array;
  readonly packets: Pick<PacketColumns, 'packetNum'>;
}

/**
 * For each packet of `from` (lane after lane), the index of the same packet in `to`, -1 when it
 * has none: same channel, same packet number, and the same occurrence of that number in its
 * lane, for QEMU 7.2 can send two packets under one number (a sync packet that carries pages
 * and the empty one after it, both traced by both sides).
 */
function samePackets(from: Lanes, to: Lanes): Int32Array {
  // Packet numbers are below 2^32 in practice; channel ids below 256.
  const key = (ch: number, num: number): number => ch * 4294967296 + num;
  // The first packet of each key, and the later ones of the (rare) keys that repeat.
  const first = new Map<number, number>();
  const later = new Map<number, number[]>();
  to.channels.forEach((ch, k) => {
    for (let j = to.laneStart[k]!; j < to.laneStart[k + 1]!; j++) {
      const kk = key(ch, to.packets.packetNum[j]!);
      if (!first.has(kk)) first.set(kk, j);
      else { const l = later.get(kk); if (l) l.push(j); else later.set(kk, [j]); }
    }
  });
  const out = new Int32Array(from.laneStart[from.channels.length] ?? 0).fill(-1);
  const taken = new Map<number, number>();
  from.channels.forEach((ch, k) => {
    for (let i = from.laneStart[k]!; i < from.laneStart[k + 1]!; i++) {
      const kk = key(ch, from.packets.packetNum[i]!);
      const j = first.get(kk);
      if (j === undefined) continue;
      const l = later.get(kk);
      if (!l) { out[i] = j; continue; }
      const n = taken.get(kk) ?? 0;
      const pick = n === 0 ? j : l[n - 1];
      if (pick !== undefined) { out[i] = pick; taken.set(kk, n + 1); }
    }
  });
  return out;
}

export function matchTransit(send: MultifdSide, recv: MultifdSide): TransitData {
  const n = send.packets.t.length;
  const transitNs = new Float64Array(n).fill(NaN);
  const recvIndex = samePackets(send, recv);
  let matched = 0;
  const channels: { channel: number; values: Float64Array }[] = [];
  send.channels.forEach((ch, k) => {
    const a = send.laneStart[k]!, b = send.laneStart[k + 1]!;
    for (let i = a; i < b; i++) {
      const j = recvIndex[i]!;
      if (j < 0) continue;
      transitNs[i] = recv.packets.t[j]! - send.packets.t[i]!;
      matched++;
    }
    channels.push({ channel: ch, values: sortedFinite(transitNs.subarray(a, b)) });
  });
  const overall = percentile(sortedFinite(transitNs), 50);
  return {
    transitNs, recvIndex,
    channels: channels.map(({ channel, values }) => {
      const p50 = percentile(values, 50);
      return {
        channel, matched: values.length, p50Ns: p50, p95Ns: percentile(values, 95), maxNs: values.length ? values[values.length - 1]! : null,
        lagging: p50 !== null && overall !== null && overall > 0 && p50 > LAG_FACTOR * overall,
      };
    }),
    unmatchedSend: n - matched,
    unmatchedRecv: recv.packets.t.length - matched,
  };
}

/**
 * A destination of QEMU 9.2+ traces, for each packet it reads (multifd_recv_unfill), the
 * next_packet_size the source wrote into the packet's header. A source before 9.2 sets that
 * field only when a packet carries pages, so its sync packets repeat the size of the packet
 * before them (the source side's bytes rule leaves those out and counts pages instead). When
 * such a source migrates to a 9.2+ destination, each received packet matched to a sent one (by
 * channel and packet number) takes the sent packet's payload; an unmatched one keeps its traced
 * size. The packets are changed in place; the count of matched packets whose traced size was
 * not their payload is returned.
 */
export function takeSendPayloads(
  send: MultifdSide,
  recv: Lanes & { readonly packets: Pick<PacketColumns, 'packetNum' | 'bytes'> },
): { readonly matched: number; readonly stale: number } {
  const sendIndex = samePackets(recv, send);
  let matched = 0, stale = 0;
  for (let j = 0; j < sendIndex.length; j++) {
    const i = sendIndex[j]!;
    if (i < 0) continue;
    matched++;
    const bytes = send.packets.bytes[i]!;
    if (recv.packets.bytes[j] !== bytes) { stale++; recv.packets.bytes[j] = bytes; }
  }
  return { matched, stale };
}

/** Whether the destination's packet sizes are the source's stale ones (a pre-9.2 source, a 9.2+ destination). */
export function recvSizesFromOldSource(send: Pick<MultifdSide, 'bytesRule'> | null, recv: Pick<MultifdSide, 'bytesRule'> | null): boolean {
  return send !== null && recv !== null && send.bytesRule.payload === 'pages' && recv.bytesRule.payload === 'next_packet_size';
}
