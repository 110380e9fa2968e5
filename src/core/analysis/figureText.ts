/**
 * Sentences about the figures, said the same way by `qmig analyze` and the migration view:
 * how the byte figure is made, the thread-end cross-check, the duration and its source,
 * and a trace figure against QEMU's.
 */
import type { TraceInfo } from './model';
import type { MigrationDuration, QemuCheck } from './qemuCompare';
import type { SideSummary } from './summary';
import { formatNumber } from '../units';

export const int = (v: number): string => formatNumber(v, 1);
export const signed = (v: number, unit = ''): string => `${v > 0 ? '+' : v < 0 ? '−' : '±'}${int(Math.abs(v))}${unit}`;

/** The QEMU of a trace: the version its QMP greeting said, else "≈" the built-in catalogue nearest to the trace. */
export function qemuVersionText(t: Pick<TraceInfo, 'version' | 'ranVersion'>): string {
  return t.ranVersion !== null ? t.ranVersion : `≈ ${t.version}`;
}

/** How the side's bytes are counted, and what of the trace's own sizes was not used. */
export function bytesRuleNote(d: SideSummary): string {
  const r = d.bytesRule;
  const payload = r.payload === 'pages' ? `normal pages × ${int(r.pageSize)} B`
    : r.payload === 'source-packets' ? 'the payload of the matching source packet (normal pages × page size, the source being older than 9.2)'
    : 'the traced packet sizes';
  const packets = d.channels.reduce((n, c) => n + c.packets, 0);
  const fromSource = r.payload === 'source-packets';
  const stale = r.staleSizes
    ? ` The traced next packet sizes${fromSource ? ", the source's," : ''} sum to ${int(r.tracedSizeBytes)} B: ${r.staleSizes} of ${int(packets)} packets carry a stale one (a${fromSource ? " pre-9.2 source's" : ''} sync packet repeats the size of the packet before it), not used.`
    : '';
  const page = r.pageSizeFrom === 'assumed' ? ' (page size assumed: no query-migrate recorded)' : '';
  return `Bytes as QEMU counts multifd-bytes: ${payload}${page} + ${int(r.headerBytes)} B header per packet${r.handshakeBytes ? ` + ${r.handshakeBytes} B handshake per channel` : ''}.${stale}`;
}

/** The thread-end cross-check in a few words. */
export function crossCheckWords(d: SideSummary): string {
  if (d.crossCheck.checked === 0) {
    return d.format === 'none' ? 'not checked: no packet events in the trace' : 'not checked: the trace has no *_thread_end totals this catalogue decodes';
  }
  return d.crossCheck.ok ? `ok (${d.crossCheck.checked} figures)` : `MISMATCH: ${d.crossCheck.mismatches.join('; ')}`;
}

export const unitSuffix = (c: QemuCheck): string => (c.unit === 'ms' ? ' ms' : c.unit === 'bytes' ? ' B' : '');

/** "equal", "+63", "+0.6 ms (within QEMU's 1 ms)", or '' when the trace cannot tell. */
export function checkVerdict(c: QemuCheck): string {
  if (c.diff === null) return '';
  if (c.agrees === true) return Math.abs(c.diff) < 0.05 ? 'equal' : `${signed(c.diff, unitSuffix(c))} (within QEMU's 1 ms)`;
  return signed(c.diff, unitSuffix(c));
}

export function durationSentence(d: MigrationDuration | null): string {
  if (!d) return 'n/a (no timestamps, no QEMU total-time)';
  return `${int(d.ms)} ms (${d.source}; ${d.detail})${d.others.map((o) => `; ${o.source} ${int(o.ms)} ms (${signed(o.diffMs, ' ms')})`).join('')}`;
}
