/** `qmig analyze`: the migration summary the view shows, as text or JSON. */
import { UsageError, type CliCommand, type CliIo } from '../command';
import { finiteNumber, parseCommandArgs } from '../args';
import { reportTraceProblems } from '../traceProblems';
import { loadMigration } from '../../core/analysis/load';
import { bytesRuleNote, checkVerdict, crossCheckWords, durationSentence, int, qemuVersionText, unitSuffix } from '../../core/analysis/figureText';
import type { QemuCheck } from '../../core/analysis/qemuCompare';
import { SummaryIndex, type MigrationSummary, type SideSummary } from '../../core/analysis/summary';
import { deviceName, type DowntimeSideSummary, type DowntimeSummary } from '../../core/analysis/downtime';
import { formatMicros } from '../../core/units';
import type { ChannelTotals } from '../../core/analysis/sideIndex';
import { qemuTreesAmong } from '../../core/trace/catalogueResolver';

const HELP = `Usage:
  qmig analyze FILE [FILE2] [--json] [--qemu-version V] [--from-ms A] [--to-ms B]

Analyses a QEMU migration from its trace(s): multifd per channel and side (packets,
normal and zero pages, bytes as QEMU counts multifd-bytes, sync rounds, cross-check
against the thread totals), per-packet transit when both sides are given, postcopy faults
(requests, pages placed, request-to-placement latency, shared pages, blocktime), the
migration phases, the duration with its source, QEMU's own figures beside the trace's,
and where the downtime went (QEMU 8.2+ with vmstate_downtime_* traced: each device's
save on the source and load on the destination, the stop-and-copy checkpoints, the
total beside the downtime query-migrate reported).

FILE and FILE2 are the source and destination traces in either order (the side is
detected from the events), or FILE is a lab recording folder holding both. A qmp.jsonl
beside the traces adds the QMP MIGRATION events to the phases and its query-migrate
replies to QEMU's figures; final-query-migrate-src.json / -dst.json take precedence.

Each trace is decoded with the catalogue that fits it: the trace-events of the current
folder when it is a QEMU tree and the trace fits them, else the built-in catalogue that
fits best; which one, and why, is printed.

Options:
  --json             one JSON object: {"multifd": {"send": [...], "recv": [...]},
                     "postcopy": {...}, "downtime": {"source": {"devices":
                     [{type, idstr, instanceId, us}], "checkpoints": [{name, t}],
                     "totalUs"}, "destination": {...}}, "duration": {...},
                     "qemu": {...}, ...}; null where the traces cannot tell.
                     Downtime t is in µs on the shared time axis (0 = the
                     earliest trace's first timestamp, as for phases' tNs)
  --qemu-version V   decode with the built-in catalogue of QEMU V (default: per file,
                     the catalogue that fits)
  --from-ms A        only events at or after A ms on the shared time axis
  --to-ms B          only events before B ms
  --help, -h         show this help

Exit status: 0; 1 when a trace was not read cleanly (a read error with its byte offset, a
file that is no trace, malformed lines: each said on stderr), after printing the analysis
of what was read; 2 for a usage error.
`;

interface Parsed { help: boolean; files: string[]; json: boolean; version?: string; fromMs?: number; toMs?: number }

function parse(args: string[]): Parsed {
  const { values: v, positionals } = parseCommandArgs(args, {
    json: { type: 'boolean' }, 'qemu-version': { type: 'string' }, 'from-ms': { type: 'string' }, 'to-ms': { type: 'string' },
  });
  const fromMs = finiteNumber('from-ms', v['from-ms']);
  const toMs = finiteNumber('to-ms', v['to-ms']);
  const p: Parsed = {
    help: v.help === true, files: positionals, json: v.json === true,
    ...(v['qemu-version'] !== undefined ? { version: v['qemu-version'] } : {}),
    ...(fromMs !== undefined ? { fromMs } : {}),
    ...(toMs !== undefined ? { toMs } : {}),
  };
  if (p.help) return p;
  if (p.files.length === 0) throw new UsageError('missing trace file (or recording folder)');
  if (p.files.length > 2) throw new UsageError('at most two traces: the source and the destination');
  return p;
}

/** The JSON `qmig analyze --json` prints: the issue's keys first, everything else after. */
export function analyzeJson(s: MigrationSummary): Record<string, unknown> {
  const ch = (c: ChannelTotals): Record<string, unknown> => ({ channel: c.channel, packets: c.packets, normalPages: c.normalPages, zeroPages: c.zeroPages, bytes: c.bytes, payloadBytes: c.payloadBytes });
  return {
    multifd: {
      send: s.multifd.send?.map(ch) ?? null,
      recv: s.multifd.recv?.map(ch) ?? null,
      sendFormat: s.multifd.sendDetail?.format ?? null,
      recvFormat: s.multifd.recvDetail?.format ?? null,
      sync: { send: syncOf(s.multifd.sendDetail), recv: syncOf(s.multifd.recvDetail) },
      crossCheck: { send: s.multifd.sendDetail?.crossCheck ?? null, recv: s.multifd.recvDetail?.crossCheck ?? null },
      bytesRule: { send: s.multifd.sendDetail?.bytesRule ?? null, recv: s.multifd.recvDetail?.bytesRule ?? null },
      transit: s.multifd.transit,
      limits: [...new Set([...(s.multifd.sendDetail?.limits ?? []), ...(s.multifd.recvDetail?.limits ?? [])])],
    },
    postcopy: s.postcopy,
    downtime: { source: downtimeSideJson(s.downtime.source), destination: downtimeSideJson(s.downtime.destination) },
    phases: s.phases,
    duration: s.duration,
    qemu: { ...s.qemu.report, checks: s.qemu.checks },
    traces: s.traces,
    range: s.range,
  };
}

function syncOf(d: SideSummary | null): Record<string, unknown> | null {
  return d ? { rounds: d.syncRounds, maxWaitUs: d.maxSyncWaitUs } : null;
}

/** A side of `downtime` in --json: totalUs null (never 0) when the trace cannot tell; null without that side's trace. */
function downtimeSideJson(d: DowntimeSideSummary | null): Record<string, unknown> | null {
  if (!d) return null;
  return {
    devices: d.devices.map((x) => ({ type: x.type, idstr: x.idstr, instanceId: x.instanceId, us: x.us })),
    checkpoints: d.checkpoints.map((c) => ({ name: c.name, t: Math.round(c.t) / 1000 })),
    totalUs: d.totalUs,
  };
}

const fmt = (v: number | null, unit = ''): string => (v === null ? 'n/a' : `${Number.isInteger(v) ? v : v.toFixed(1)}${unit}`);
function crossCheckText(d: SideSummary): string {
  return `  cross-check against *_thread_end totals: ${crossCheckWords(d)}`;
}

function checksText(checks: readonly QemuCheck[]): string[] {
  if (!checks.length) return ["QEMU's own figures: none recorded (no final-query-migrate-*.json, no query-migrate reply in a qmp.jsonl beside the traces)"];
  const rows = checks.map((c) => {
    return [`  ${c.label}`, c.trace === null ? 'n/a' : `${int(c.trace)}${unitSuffix(c)}`, `${int(c.qemu)}${unitSuffix(c)}`, checkVerdict(c), `${c.side} ${c.from}`];
  });
  const w = [0, 1, 2, 3].map((k) => Math.max(...rows.map((r) => r[k]!.length), ['', 'trace', 'QEMU', 'difference'][k]!.length));
  const line = (r: string[]): string => `${r[0]!.padEnd(w[0]!)}  ${r[1]!.padStart(w[1]!)}  ${r[2]!.padStart(w[2]!)}  ${r[3]!.padEnd(w[3]!)}  ${r[4] ?? ''}`.trimEnd();
  return [
    "QEMU's own figures (whole migration) beside the trace's:",
    line(['', 'trace', 'QEMU', 'difference', 'QEMU figure from']),
    ...rows.map(line),
    ...checks.flatMap((c) => [`    ${c.label}: trace figure = ${c.how}`, ...(c.note ? [`    ${c.label}: ${c.note}`] : [])]),
  ];
}

function sideText(title: string, d: SideSummary | null): string[] {
  if (!d) return [`${title}: no trace of this side`];
  const rows = d.channels.map((c) => `  ${String(c.channel).padStart(7)}  ${String(c.packets).padStart(8)}  ${fmt(c.normalPages).padStart(12)}  ${fmt(c.zeroPages).padStart(10)}  ${fmt(c.bytes).padStart(12)}`);
  const tot = (k: keyof Omit<ChannelTotals, 'channel'>): number | null => (d.channels.some((c) => c[k] === null) ? null : d.channels.reduce((n, c) => n + (c[k] ?? 0), 0));
  return [
    `${title} (${d.format}): ${d.channels.length} channels, ${d.syncRounds} sync rounds, longest sync wait ${fmt(d.maxSyncWaitUs, ' µs')}`,
    `  channel   packets  normal pages  zero pages         bytes`,
    ...rows,
    `    total  ${String(tot('packets')).padStart(8)}  ${fmt(tot('normalPages')).padStart(12)}  ${fmt(tot('zeroPages')).padStart(10)}  ${fmt(tot('bytes')).padStart(12)}`,
    `  ${bytesRuleNote(d)}`,
    crossCheckText(d),
    ...d.limits.map((l) => `  note: ${l}`),
  ];
}

const ms = (ns: number): string => `${(ns / 1e6).toFixed(3)} ms`;

function downtimeSideText(title: string, d: DowntimeSideSummary | null, reported: DowntimeSummary['reported']): string[] {
  if (!d) return [`  ${title}: no trace of this side`];
  if (d.status !== 'traced') return [`  ${title}: n/a. ${d.note ?? ''}`];
  const verb = d.side === 'src' ? 'saved' : 'loaded';
  const out = [`  ${title} (QEMU ${d.qemuVersion}): ${d.devices.length} devices ${verb} in ${formatMicros(d.totalUs)} (iterable ${formatMicros(d.iterableUs)}, non-iterable ${formatMicros(d.nonIterableUs)})`];
  if (d.rounds > 1) out.push(`    note: ${d.rounds} stop-and-copy rounds in this range; the totals add them up, the window is the last one`);
  if (d.window) {
    const rest = d.totalUs === null ? '' : `; ${formatMicros(d.window.us - d.totalUs)} of it outside the device handlers`;
    out.push(`    stop-and-copy ${d.window.from} → ${d.window.to}: ${formatMicros(d.window.us)}${rest}`);
  }
  if (d.side === 'src' && reported) {
    out.push(`    query-migrate downtime: ${reported.ms} ms (${reported.from}); QEMU measures it from src-downtime-start to src-downtime-end in whole ms, so it includes stopping the VM, syncing the CPUs and writing the stream besides the device saves`);
  }
  out.push(`    checkpoints (and the time to the next one):`);
  const next = new Map(d.phases.map((p) => [p.startNs, p]));
  out.push(...d.checkpoints.map((c) => {
    const p = next.get(c.t);
    return `      ${ms(c.t).padStart(14)}  ${p ? `${c.name.padEnd(30)}  → ${formatMicros((p.endNs - p.startNs) / 1000)}` : c.name}`;
  }));
  out.push(`    devices in the order they were ${verb} (t = when the ${d.side === 'src' ? 'save' : 'load'} ended):`);
  out.push(...d.devices.map((x) => `      ${ms(x.endNs).padStart(14)}  ${x.type.padEnd(12)}  ${deviceName(x).padEnd(28)}  ${formatMicros(x.us).padStart(9)}`));
  return out;
}

/** The downtime section of the text output. originNs is the shared axis' 0 (epoch ns for realtime traces). */
export function downtimeText(d: DowntimeSummary, originNs: string): string[] {
  const origin = BigInt(originNs);
  const zero = origin > 1_000_000_000_000_000n ? `${new Date(Number(origin / 1_000_000n)).toISOString()}, ` : '';
  const lines = [
    `downtime (vmstate_downtime_*; t in ms on the shared time axis, 0 = ${zero}the earliest trace's first timestamp; --json gives t in µs):`,
    ...downtimeSideText('source', d.source, d.reported),
    ...downtimeSideText('destination', d.destination, null),
  ];
  if (d.reported && d.source?.status !== 'traced') lines.push(`  query-migrate downtime: ${d.reported.ms} ms (${d.reported.from})`);
  if (d.stopToStartUs !== null) lines.push(`  guest paused from src-vm-stopped to the destination's vm-started: ${formatMicros(d.stopToStartUs)} (both traces on one host clock)`);
  if (d.pairs.length && d.source?.status === 'traced' && d.destination?.status === 'traced') {
    lines.push('  save beside load, costliest first (— : not traced on that side):', `      ${'device'.padEnd(28)}  ${'type'.padEnd(12)}  ${'save'.padStart(9)}  ${'load'.padStart(9)}`);
    lines.push(...d.pairs.map((p) => `      ${deviceName(p).padEnd(28)}  ${p.type.padEnd(12)}  ${(p.saveUs === null ? '—' : formatMicros(p.saveUs)).padStart(9)}  ${(p.loadUs === null ? '—' : formatMicros(p.loadUs)).padStart(9)}`));
  }
  return lines;
}

export function analyzeText(s: MigrationSummary, originNs = '0'): string {
  const pc = s.postcopy;
  const lines = [
    ...s.traces.flatMap((t) => [
      `${t.side === 'src' ? 'source' : 'destination'}: ${t.path} (QEMU ${qemuVersionText(t)}, ${t.events} events, ${t.malformed} malformed${t.unknownEvents ? `, ${t.unknownEvents} unknown` : ''})`,
      `  catalogue: ${t.catalogue.label}: ${t.catalogue.reason}`,
      ...(t.catalogue.warning ? [`  WARNING: ${t.catalogue.warning}`] : []),
    ]),
    `duration: ${durationSentence(s.duration)}`,
    '',
    ...sideText('multifd send', s.multifd.sendDetail),
    ...sideText('multifd recv', s.multifd.recvDetail),
    ...(s.multifd.transit ? ['transit (recv − send) per channel:', ...s.multifd.transit.map((c) => `  channel ${c.channel}: ${c.matched} packets, p50 ${fmt(c.p50Ns === null ? null : c.p50Ns / 1000, ' µs')}, p95 ${fmt(c.p95Ns === null ? null : c.p95Ns / 1000, ' µs')}, max ${fmt(c.maxNs === null ? null : c.maxNs / 1000, ' µs')}${c.lagging ? '  LAGGING' : ''}`)] : []),
    '',
    `postcopy: fault requests ${fmt(pc.faultRequests)}, pages placed ${fmt(pc.pagesPlaced)} (zero ${fmt(pc.zeroPagesPlaced)}), latency p50 ${fmt(pc.latencyUs.p50, ' µs')} p95 ${fmt(pc.latencyUs.p95, ' µs')} max ${fmt(pc.latencyUs.max, ' µs')}, blocktime ${fmt(pc.blocktimeTotal)}`,
    ...(pc.faultsPerRamBlock.length ? [`  faults per RAMBlock: ${pc.faultsPerRamBlock.map((r) => `${r.key} ${r.count}`).join(', ')}`] : []),
    ...(pc.sharedPage ? [`  shared pages: ${Object.entries(pc.sharedPage).map(([k, v]) => `${k} ${v}`).join(', ')}`] : []),
    ...pc.limits.map((l) => `  note: ${l}`),
    '',
    ...checksText(s.qemu.checks),
    '',
    'phases:',
    ...s.phases.map((p) => `  ${(p.tNs / 1e6).toFixed(3).padStart(10)} ms  ${p.side}  ${p.state}  (${p.from})`),
    '',
    ...downtimeText(s.downtime, originNs),
  ];
  return lines.join('\n') + '\n';
}

export const analyzeCommand: CliCommand = {
  name: 'analyze',
  summary: 'multifd channels, postcopy faults and phases of a migration, from its traces',
  help: HELP,
  async run(args: string[], io: CliIo): Promise<number> {
    const p = parse(args);
    if (p.help) {
      io.out(HELP);
      return 0;
    }
    const { model, traces } = await loadMigration(p.files, {
      signal: io.signal,
      catalogues: {
        forced: p.version === undefined ? undefined : { version: p.version },
        trees: qemuTreesAmong([{ path: process.cwd(), origin: 'current folder' }]),
        onTreeProblem: (m) => io.err(`qmig analyze: ${m}\n`),
      },
    });
    for (const t of model.traces) if (t.catalogue.warning) io.err(`qmig analyze: ${t.path}: ${t.catalogue.warning}\n`);
    const range = p.fromMs === undefined && p.toMs === undefined ? null : { startNs: (p.fromMs ?? -Infinity) * 1e6, endNs: (p.toMs ?? Infinity) * 1e6 };
    const s = new SummaryIndex(model).summary(range);
    io.out(p.json ? JSON.stringify(analyzeJson(s), null, 2) + '\n' : analyzeText(s, model.originNs));
    // The analysis of what was read is printed either way; a read that was not clean is an error.
    let bad = false;
    for (const t of traces) if (reportTraceProblems('analyze', t.path, t.store, t.catalogue.source, io)) bad = true;
    return bad ? 1 : 0;
  },
};
