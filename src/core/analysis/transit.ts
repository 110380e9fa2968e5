/**
 * Source + destination together: packets matched by channel and packet number, the
 * transit time of each (receive − send, on the shared clock of one host) and its
 * distribution per channel; channels whose median transit is well above the others lag.
 */
import type { MultifdSide } from './model';
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

export function matchTransit(send: MultifdSide, recv: MultifdSide): TransitData {
  const n = send.packets.t.length;
  const transitNs = new Float64Array(n).fill(NaN);
  const recvIndex = new Int32Array(n).fill(-1);
  // Packet numbers are below 2^32 in practice; channel ids below 256.
  const key = (ch: number, num: number): number => ch * 4294967296 + num;
  const byKey = new Map<number, number>();
  recv.channels.forEach((ch, k) => {
    for (let i = recv.laneStart[k]!; i < recv.laneStart[k + 1]!; i++) byKey.set(key(ch, recv.packets.packetNum[i]!), i);
  });
  let matched = 0;
  const channels: { channel: number; values: Float64Array }[] = [];
  send.channels.forEach((ch, k) => {
    const a = send.laneStart[k]!, b = send.laneStart[k + 1]!;
    for (let i = a; i < b; i++) {
      const j = byKey.get(key(ch, send.packets.packetNum[i]!));
      if (j === undefined) continue;
      recvIndex[i] = j;
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
