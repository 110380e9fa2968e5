/** `qmig analyze`: the migration summary the view shows, as text or JSON. */
import { UsageError, type CliCommand, type CliIo } from '../command';
import { loadMigration } from '../../core/analysis/load';
import { SummaryIndex, type MigrationSummary, type SideSummary } from '../../core/analysis/summary';
import type { ChannelTotals } from '../../core/analysis/sideIndex';
import { builtinCatalogue } from '../../core/trace/catalogues/index';

const HELP = `Usage:
  qmig analyze FILE [FILE2] [--json] [--qemu-version V] [--from-ms A] [--to-ms B]

Analyses a QEMU migration from its trace(s): multifd per channel and side (packets,
normal and zero pages, bytes, sync rounds, cross-check against the thread totals),
per-packet transit when both sides are given, postcopy faults (requests, pages placed,
request-to-placement latency, shared pages, blocktime) and the migration phases.

FILE and FILE2 are the source and destination traces in either order (the side is
detected from the events), or FILE is a lab recording folder holding both. A qmp.jsonl
beside the traces adds the QMP MIGRATION events to the phases.

Options:
  --json             one JSON object: {"multifd": {"send": [...], "recv": [...]},
                     "postcopy": {...}, ...}; null where the traces cannot tell
  --qemu-version V   decode with the built-in catalogue of QEMU V (default: guessed per file)
  --from-ms A        only events at or after A ms on the shared time axis
  --to-ms B          only events before B ms
`;

interface Parsed { files: string[]; json: boolean; version?: string; fromMs?: number; toMs?: number }

function parse(args: string[]): Parsed {
  const p: Parsed = { files: [], json: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = (): string => { const v = args[++i]; if (v === undefined) throw new UsageError(`${a} needs a value`); return v; };
    const num = (): number => { const v = Number(value()); if (!Number.isFinite(v)) throw new UsageError(`${a} needs a number`); return v; };
    if (a === '--json') p.json = true;
    else if (a === '--qemu-version') p.version = value();
    else if (a === '--from-ms') p.fromMs = num();
    else if (a === '--to-ms') p.toMs = num();
    else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
    else p.files.push(a);
  }
  if (p.files.length === 0) throw new UsageError('missing trace file (or recording folder)');
  if (p.files.length > 2) throw new UsageError('at most two traces: the source and the destination');
  return p;
}

/** The JSON `qmig analyze --json` prints: the issue's keys first, everything else after. */
export function analyzeJson(s: MigrationSummary): Record<string, unknown> {
  const ch = (c: ChannelTotals): Record<string, unknown> => ({ channel: c.channel, packets: c.packets, normalPages: c.normalPages, zeroPages: c.zeroPages, bytes: c.bytes });
  return {
    multifd: {
      send: s.multifd.send?.map(ch) ?? null,
      recv: s.multifd.recv?.map(ch) ?? null,
      sendFormat: s.multifd.sendDetail?.format ?? null,
      recvFormat: s.multifd.recvDetail?.format ?? null,
      sync: { send: syncOf(s.multifd.sendDetail), recv: syncOf(s.multifd.recvDetail) },
      crossCheck: { send: s.multifd.sendDetail?.crossCheck ?? null, recv: s.multifd.recvDetail?.crossCheck ?? null },
      transit: s.multifd.transit,
      limits: [...(s.multifd.sendDetail?.limits ?? []), ...(s.multifd.recvDetail?.limits ?? [])],
    },
    postcopy: s.postcopy,
    phases: s.phases,
    traces: s.traces,
    range: s.range,
  };
}

function syncOf(d: SideSummary | null): Record<string, unknown> | null {
  return d ? { rounds: d.syncRounds, maxWaitUs: d.maxSyncWaitUs } : null;
}

const fmt = (v: number | null, unit = ''): string => (v === null ? 'n/a' : `${Number.isInteger(v) ? v : v.toFixed(1)}${unit}`);

function sideText(title: string, d: SideSummary | null): string[] {
  if (!d) return [`${title}: no trace of this side`];
  const rows = d.channels.map((c) => `  ${String(c.channel).padStart(7)}  ${String(c.packets).padStart(8)}  ${fmt(c.normalPages).padStart(12)}  ${fmt(c.zeroPages).padStart(10)}  ${fmt(c.bytes).padStart(12)}`);
  const tot = (k: keyof Omit<ChannelTotals, 'channel'>): number | null => (d.channels.some((c) => c[k] === null) ? null : d.channels.reduce((n, c) => n + (c[k] ?? 0), 0));
  return [
    `${title} (${d.format}): ${d.channels.length} channels, ${d.syncRounds} sync rounds, longest sync wait ${fmt(d.maxSyncWaitUs, ' µs')}`,
    `  channel   packets  normal pages  zero pages         bytes`,
    ...rows,
    `    total  ${String(tot('packets')).padStart(8)}  ${fmt(tot('normalPages')).padStart(12)}  ${fmt(tot('zeroPages')).padStart(10)}  ${fmt(tot('bytes')).padStart(12)}`,
    d.crossCheck.ok ? '  cross-check against *_thread_end totals: ok' : `  cross-check MISMATCH: ${d.crossCheck.mismatches.join('; ')}`,
    ...d.limits.map((l) => `  note: ${l}`),
  ];
}

export function analyzeText(s: MigrationSummary): string {
  const pc = s.postcopy;
  const lines = [
    ...s.traces.map((t) => `${t.side === 'src' ? 'source' : 'destination'}: ${t.path} (QEMU ${t.version}, ${t.events} events, ${((t.lastNs - t.firstNs) / 1e6).toFixed(1)} ms, ${t.malformed} malformed)`),
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
    'phases:',
    ...s.phases.map((p) => `  ${(p.tNs / 1e6).toFixed(3).padStart(10)} ms  ${p.side}  ${p.state}  (${p.from})`),
  ];
  return lines.join('\n') + '\n';
}

export const analyzeCommand: CliCommand = {
  name: 'analyze',
  summary: 'multifd channels, postcopy faults and phases of a migration, from its traces',
  help: HELP,
  async run(args: string[], io: CliIo): Promise<number> {
    const p = parse(args);
    const { model } = await loadMigration(p.files, { signal: io.signal, catalogue: p.version === undefined ? undefined : builtinCatalogue(p.version) });
    const range = p.fromMs === undefined && p.toMs === undefined ? null : { startNs: (p.fromMs ?? -Infinity) * 1e6, endNs: (p.toMs ?? Infinity) * 1e6 };
    const s = new SummaryIndex(model).summary(range);
    io.out(p.json ? JSON.stringify(analyzeJson(s), null, 2) + '\n' : analyzeText(s));
    return 0;
  },
};
