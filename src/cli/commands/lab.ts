import type { CliCommand, CliIo } from '../command';
import { UsageError } from '../command';
import {
  LabAbortedError,
  LabError,
  isLabScenario,
  labDefaults,
  labScenarios,
  runLab,
  type LabOptions,
  type LabResult,
} from '../../core/lab/index';

const HELP = `qmig lab - run a real migration on this host and record it

Usage:
  qmig lab <scenario> --out DIR [options]
  qmig lab --list

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
  src-testpmd.log, dst-testpmd.log vhost-user scenario only
  scenario.json                    what ran: versions, argument arrays, settings, status

Options:
  --out DIR            where to write the recording (required)
  --qemu PATH          QEMU binary (default ${labDefaults.qemuBinary})
  --testpmd PATH       DPDK testpmd binary (default ${labDefaults.testpmdBinary})
  --nasm PATH          nasm, assembles the guest (default ${labDefaults.nasmBinary})
  --memory MiB         guest RAM (default ${labDefaults.memoryMiB})
  --dirty-rate MiB/s   how fast the guest writes pages (default per scenario)
  --zero-share X       share of the guest's region left all-zero, 0..0.9375 (default ${labDefaults.zeroShare})
  --region MiB         size of the region the guest writes (default per scenario)
  --postcopy-after MS  postcopy scenarios: start postcopy this long after migrate,
                       once the first pass is done (default ${labDefaults.postcopyAfterMs})
  --cap NAME=on|off    migration capability override (repeatable)
  --param NAME=VALUE   migration parameter override (repeatable); VALUE is JSON,
                       or a number with K/M/G suffix (binary), or text
  --trace PATTERN      trace pattern, replaces the scenario's list (repeatable;
                       a leading - disables)
  --accel LIST         accelerators in order, comma-separated (default ${labDefaults.accelerators.join(',')})
  --timeout MS         limit for the whole run (default ${labDefaults.timeoutMs})
  --json               print the result as JSON on stdout
  --list               list the scenarios

Progress goes to stderr. Exit status: 0 completed, 1 failed, 130 interrupted.
Every process is ended and the temporary directory removed in all cases.
`;

interface Parsed {
  scenario?: string;
  list: boolean;
  json: boolean;
  opts: Partial<LabOptions> & { capabilities: Record<string, boolean>; parameters: Record<string, unknown> };
  traces: string[];
}

function intArg(flag: string, v: string): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`${flag} needs a whole number, got '${v}'`);
  return Number(v);
}

/** Splits NAME=VALUE. */
function pair(flag: string, v: string): [string, string] {
  const i = v.indexOf('=');
  if (i <= 0) throw new UsageError(`${flag} needs NAME=VALUE, got '${v}'`);
  return [v.slice(0, i), v.slice(i + 1)];
}

/** A migration parameter value: JSON when it parses, sizes like 64M as bytes, else the text. */
export function parseParamValue(text: string): unknown {
  const size = /^(\d+)([KMG])$/i.exec(text);
  if (size) {
    const shift = { K: 10, M: 20, G: 30 }[(size[2] ?? 'K').toUpperCase() as 'K' | 'M' | 'G'];
    return Number(size[1]) * 2 ** shift;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function parseCap(v: string): [string, boolean] {
  const [name, state] = pair('--cap', v);
  if (['on', 'true', 'yes', '1'].includes(state)) return [name, true];
  if (['off', 'false', 'no', '0'].includes(state)) return [name, false];
  throw new UsageError(`--cap ${name}= needs on or off, got '${state}'`);
}

export function parseLabArgs(args: readonly string[]): Parsed {
  const p: Parsed = { list: false, json: false, opts: { capabilities: {}, parameters: {} }, traces: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (!a.startsWith('--')) {
      if (p.scenario !== undefined) throw new UsageError(`unexpected argument '${a}'`);
      p.scenario = a;
      continue;
    }
    const eq = a.indexOf('=');
    const flag = eq > 0 ? a.slice(0, eq) : a;
    if (flag === '--list') { p.list = true; continue; }
    if (flag === '--json') { p.json = true; continue; }
    const value = eq > 0 ? a.slice(eq + 1) : args[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    switch (flag) {
      case '--out': p.opts.outDir = value; break;
      case '--qemu': p.opts.qemuBinary = value; break;
      case '--testpmd': p.opts.testpmdBinary = value; break;
      case '--nasm': p.opts.nasmBinary = value; break;
      case '--memory': p.opts.memoryMiB = intArg(flag, value); break;
      case '--dirty-rate': p.opts.dirtyRateMiBps = intArg(flag, value); break;
      case '--region': p.opts.dirtyRegionMiB = intArg(flag, value); break;
      case '--postcopy-after': p.opts.postcopyAfterMs = intArg(flag, value); break;
      case '--timeout': p.opts.timeoutMs = intArg(flag, value); break;
      case '--zero-share': {
        const n = Number(value);
        if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--zero-share needs a number, got '${value}'`);
        p.opts.zeroShare = n;
        break;
      }
      case '--cap': { const [k, s] = parseCap(value); p.opts.capabilities[k] = s; break; }
      case '--param': { const [k, v] = pair(flag, value); p.opts.parameters[k] = parseParamValue(v); break; }
      case '--trace': p.traces.push(value); break;
      case '--accel': p.opts.accelerators = value.split(',').map((s) => s.trim()).filter((s) => s !== ''); break;
      default: throw new UsageError(`unknown option ${flag}`);
    }
  }
  if (p.traces.length) p.opts.traceEvents = p.traces;
  return p;
}

function summarize(r: LabResult): string {
  const src = r.finalQueryMigrate.src;
  const dst = r.finalQueryMigrate.dst;
  const lines = [`${r.scenario}: ${r.status} in ${(r.durationMs / 1000).toFixed(1)} s → ${r.outDir}`];
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
  return lines.join('\n') + '\n';
}

async function run(args: string[], io: CliIo): Promise<number> {
  const p = parseLabArgs(args);
  if (p.list) {
    for (const s of labScenarios) io.out(`${s.name}\t${s.description}\n`);
    return 0;
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
  summary: 'run a real migration scenario (precopy multifd, postcopy, vhost-user) and record it',
  help: HELP,
  run,
};
