import type { CliCommand, CliIo } from '../command';
import { formatBytes, formatMillis } from '../../core/units';
import { UsageError } from '../command';
import { finiteNumber, parseCommandArgs, wholeNumber } from '../args';
import { capParamHelp, parseCapOption, parseParamOption } from '../migrationOptions';
import { LabAbortedError, LabError } from '../../core/lab/errors';
import { isLabScenario, labScenarios } from '../../core/lab/scenarios';
import { labDefaults } from '../../core/lab/options';
import { runLab } from '../../core/lab/runner';
import type { LabOptions, LabResult } from '../../core/lab/types';
import { findQemuInstalls } from '../../core/qemu/installs';

const HELP = `qmig lab - run a real migration on this host and record it

Usage:
  qmig lab <scenario> --out DIR [options]
  qmig lab --list
  qmig lab --qemus

Scenarios:
${labScenarios.map((s) => `  ${s.name.padEnd(20)} ${s.description}`).join('\n')}

Starts a source and a destination QEMU (and DPDK testpmd back-ends for
postcopy-vhost-user) in a private temporary directory, boots the lab's own
guest (it keeps writing memory at a set rate and leaves a known share of
pages all-zero), migrates, and writes into DIR:
  src-trace.log, dst-trace.log     QEMU log-backend traces (-msg timestamp=on)
  qmp.jsonl                        every QMP command, reply and event, both sides
  final-query-migrate-{src,dst}.json
  src-guest.log, dst-guest.log     the guest's debug console
  src-testpmd.log, dst-testpmd.log postcopy-vhost-user only
  src-bridge.log, dst-bridge.log   *-vhost-user-bridge: tests/vhost-user-bridge output
  src-qemu-stderr.log, dst-qemu-stderr.log  *-vhost-user-bridge: QEMU's error output
  scenario.json                    what ran: versions, argument arrays, settings, status

Options:
  --out DIR            where to write the recording (required)
  --qemu 7.2|10.0|PATH QEMU of both sides: an installed version (see --qemus) or a
                       binary (default ${labDefaults.qemu} on PATH; cross-version:
                       the oldest installed)
  --dst-qemu V|PATH    the destination's QEMU when it differs (cross-version: the
                       newest installed)
  --testpmd PATH       DPDK testpmd binary (default ${labDefaults.testpmdBinary})
  --bridge PATH        tests/vhost-user-bridge (default the one scripts/setup.sh
                       built in $QMW_CACHE/qemu-src/<version>/build)
  --nasm PATH          nasm, assembles the guest (default ${labDefaults.nasmBinary})
  --memory MiB         guest RAM (default ${labDefaults.memoryMiB})
  --dirty-rate MiB/s   how fast the guest writes pages (default per scenario)
  --zero-share X       share of the guest's region left all-zero, 0..0.9375 (default ${labDefaults.zeroShare})
  --region MiB         size of the region the guest writes (default per scenario)
  --postcopy-after MS  postcopy scenarios: start postcopy this long after migrate,
                       once the first pass is done (default ${labDefaults.postcopyAfterMs})
${capParamHelp}
  --trace PATTERN      trace pattern, replaces the scenario's list (repeatable;
                       a leading - disables)
  --accel LIST         accelerators in order, comma-separated (default ${labDefaults.accelerators.join(',')})
  --timeout MS         limit for the whole run (default ${labDefaults.timeoutMs})
  --json               print the result as JSON on stdout
  --list               list the scenarios
  --qemus              list the QEMUs found: on PATH and set up by scripts/setup.sh
                       in $QMW_CACHE/qemu (version read from each binary)
  --help, -h           show this help

Progress goes to stderr. Exit status: 0 completed, 1 failed, 2 bad usage,
130 interrupted (Ctrl-C or SIGTERM).
Every process is ended and the temporary directory removed in all cases.
`;

interface Parsed {
  help: boolean;
  scenario?: string;
  list: boolean;
  qemus: boolean;
  json: boolean;
  opts: Partial<LabOptions> & { capabilities: Record<string, boolean>; parameters: Record<string, unknown> };
}

const options = {
  out: { type: 'string' }, qemu: { type: 'string' }, 'dst-qemu': { type: 'string' }, testpmd: { type: 'string' }, nasm: { type: 'string' }, bridge: { type: 'string' },
  memory: { type: 'string' }, 'dirty-rate': { type: 'string' }, region: { type: 'string' },
  'postcopy-after': { type: 'string' }, timeout: { type: 'string' }, 'zero-share': { type: 'string' },
  cap: { type: 'string', multiple: true }, param: { type: 'string', multiple: true }, trace: { type: 'string', multiple: true },
  accel: { type: 'string' }, json: { type: 'boolean' }, list: { type: 'boolean' }, qemus: { type: 'boolean' },
} as const;

export function parseLabArgs(args: readonly string[]): Parsed {
  const { values: v, positionals } = parseCommandArgs(args, options);
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1] ?? ''}'`);
  const opts: Parsed['opts'] = { capabilities: {}, parameters: {} };
  const given = {
    outDir: v.out, qemu: v.qemu, dstQemu: v['dst-qemu'], testpmdBinary: v.testpmd, nasmBinary: v.nasm, bridgeBinary: v.bridge,
    memoryMiB: wholeNumber('memory', v.memory, 1),
    dirtyRateMiBps: wholeNumber('dirty-rate', v['dirty-rate']),
    dirtyRegionMiB: wholeNumber('region', v.region, 1),
    postcopyAfterMs: wholeNumber('postcopy-after', v['postcopy-after']),
    timeoutMs: wholeNumber('timeout', v.timeout, 1),
    zeroShare: finiteNumber('zero-share', v['zero-share']),
  };
  for (const [k, value] of Object.entries(given)) if (value !== undefined) Object.assign(opts, { [k]: value });
  for (const c of v.cap ?? []) {
    const [k, on] = parseCapOption(c);
    opts.capabilities[k] = on;
  }
  for (const p of v.param ?? []) {
    const [k, value] = parseParamOption(p);
    opts.parameters[k] = value;
  }
  if (v.trace?.length) opts.traceEvents = v.trace;
  if (v.accel !== undefined) opts.accelerators = v.accel.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return { help: v.help === true, list: v.list === true, qemus: v.qemus === true, json: v.json === true, opts, ...(positionals[0] !== undefined ? { scenario: positionals[0] } : {}) };
}

function summarize(r: LabResult): string {
  const src = r.finalQueryMigrate.src;
  const dst = r.finalQueryMigrate.dst;
  const v = r.qemuVersions;
  const versions = v.src !== undefined && v.dst !== undefined && v.src !== v.dst ? `QEMU ${v.src} → ${v.dst}` : `QEMU ${v.src ?? v.dst ?? '?'}`;
  const lines = [`${r.scenario} (${versions}): ${r.status}, the run took ${formatMillis(r.durationMs)} (wall time) → ${r.outDir}`];
  if (src) {
    const ram = src.ram;
    lines.push(
      `  source: ${src.status}, total ${src['total-time'] ?? '?'} ms, downtime ${src.downtime ?? '?'} ms` +
        (ram ? `, ${ram['dirty-sync-count']} dirty syncs, ${ram.normal} normal + ${ram.duplicate} zero pages, ${ram['postcopy-requests']} postcopy requests` : ''),
    );
  }
  if (dst) {
    const bt = dst['postcopy-blocktime'];
    lines.push(`  destination: ${dst.status}${bt !== undefined ? `, postcopy blocktime ${bt} ms` : ''}`);
  }
  if (r.cpr) {
    const c = r.cpr;
    lines.push(
      `  ${c.mode}: guest paused ${c.pauseMs} ms from migrate to running on the new QEMU` +
        (c.stateFileBytes !== undefined ? `, state file ${formatBytes(c.stateFileBytes)} for ${formatBytes(c.guestRamBytes)} of RAM kept in place` : '') +
        `; guest sweep ${c.lastSourceSweep} → ${c.firstDestinationSweep}`,
    );
  }
  return lines.join('\n') + '\n';
}

async function run(args: string[], io: CliIo): Promise<number> {
  const p = parseLabArgs(args);
  if (p.help) {
    io.out(HELP);
    return 0;
  }
  if (p.list) {
    for (const s of labScenarios) io.out(`${s.name}\t${s.description}\n`);
    return 0;
  }
  if (p.qemus) {
    const found = await findQemuInstalls();
    for (const i of found.installs) io.out(`${i.versionText}\t${i.binary}\t${i.firmwareDir ?? '-'}\t${i.origin}\n`);
    for (const e of found.problems) io.err(`qmig lab: ${e.message}\n`);
    if (found.installs.length === 0) io.err('qmig lab: no QEMU found (bash scripts/setup.sh installs QEMU 7.2 and 10.0.2)\n');
    return found.installs.length > 0 ? 0 : 1;
  }
  if (p.scenario === undefined) throw new UsageError('name a scenario (qmig lab --list shows them)');
  if (!isLabScenario(p.scenario)) throw new UsageError(`unknown scenario '${p.scenario}'; choose from ${labScenarios.map((s) => s.name).join(', ')}`);
  if (!p.opts.outDir) throw new UsageError('--out DIR is required');
  const opts: LabOptions = { ...p.opts, scenario: p.scenario, outDir: p.opts.outDir };
  const t0 = Date.now();
  const stamp = (): string => `${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s`;
  try {
    const result = await runLab(opts, {
      signal: io.signal,
      progress: (step) => io.err(`qmig lab: ${stamp()} ${step}\n`),
    });
    io.out(p.json ? JSON.stringify(result, null, 2) + '\n' : summarize(result));
    return 0;
  } catch (e) {
    if (!(e instanceof LabError)) throw e;
    if (p.json && e.result) io.out(JSON.stringify(e.result, null, 2) + '\n');
    if (e instanceof LabAbortedError) {
      io.err(`qmig lab: interrupted during ${e.step}; processes ended, temporary files removed\n`);
      return 130;
    }
    io.err(`qmig lab: ${e.message}\n`);
    if (e.result) io.err(`qmig lab: what was recorded is in ${e.result.outDir} (scenario.json says status failed)\n`);
    return 1;
  }
}

export const labCommand: CliCommand = {
  name: 'lab',
  summary: 'run a real migration scenario (precopy multifd, postcopy, vhost-user, CPR, cross-version) and record it',
  help: HELP,
  run,
};
