import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CliCommand, CliIo } from '../command';
import { UsageError } from '../command';
import type { FlowKind, LoadedSpec } from '../../core/vhostuser/check';
import { checkFile } from '../../core/vhostuser/checkFile';
import { loadSpec, loadSpecFile } from '../../core/vhostuser/specSource';
import { loadUserRules, mergeRules, WORKSPACE_RULES } from '../../core/vhostuser/userRules';
import { lintSpecWithTree } from '../../core/vhostuser/lint';
import { startCapture, straceArgs } from '../../core/vhostuser/capture';

const HELP = `qmig vhost-user - check vhost-user message flows against the spec

Usage:
  qmig vhost-user check FILE [--spec PATH] [--qemu-tree DIR] [--rules PATH]
                             [--format qemu-trace|dpdk-log|libvhost-user-log|strace]
                             [--connection SOCKET|fd N] [--qemu-version V] [--json]
      FILE is a QEMU trace (-trace enable=vhost_user_*; log, .gz, .xz or
      simpletrace, whose catalogue --qemu-version picks), a DPDK vhost log
      (--log-level=lib.vhost.config:debug), a libvhost-user debug log or an
      strace capture. Exit 1 when a rule is violated. Rules that need what the
      file does not show (payloads, flags) are listed as unknown.
  qmig vhost-user rules [--spec PATH] [--qemu-tree DIR] [--rules PATH] [--json]
      The messages, protocol features and rules of the spec.
  qmig vhost-user lint SPEC [--qemu-tree DIR] [--json]
      Duplicate/skipped ids and bits, names mentioned but never defined, and with
      a QEMU tree the differences from the C enums. Exit 1 on errors.
  qmig vhost-user capture --pid PID --out FILE
      Records the process's socket traffic with strace (full payloads) until
      Ctrl-C; check the file with 'qmig vhost-user check FILE'.

Spec: --spec, else DIR/docs/interop/vhost-user.rst of --qemu-tree, else
./docs/interop/vhost-user.rst, else the built-in model (QEMU 10.2.50).
Rules: --rules PATH, else ./${WORKSPACE_RULES} when present, are added to the spec's.
`;

interface Opts { positional: string[]; flags: Map<string, string | true> }

const VALUED = new Set(['--spec', '--qemu-tree', '--rules', '--format', '--connection', '--pid', '--out', '--qemu-version']);
const BOOLEAN = new Set(['--json']);

function parseArgs(args: readonly string[]): Opts {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a.startsWith('--')) {
      const [k, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
      if (VALUED.has(k)) {
        const v = inline ?? args[++i];
        if (v === undefined) throw new UsageError(`${k} needs a value`);
        flags.set(k, v);
      } else if (BOOLEAN.has(k)) flags.set(k, true);
      else throw new UsageError(`unknown option ${k}`);
    } else positional.push(a);
  }
  return { positional, flags };
}

const str = (o: Opts, k: string): string | undefined => { const v = o.flags.get(k); return typeof v === 'string' ? v : undefined; };

function specAndRules(o: Opts, cwd: string): LoadedSpec {
  const spec = loadSpec({ spec: str(o, '--spec'), qemuTree: str(o, '--qemu-tree'), cwd });
  const rulesPath = str(o, '--rules') ?? (existsSync(join(cwd, WORKSPACE_RULES)) ? join(cwd, WORKSPACE_RULES) : undefined);
  if (!rulesPath) return spec;
  return { ...spec, rules: mergeRules(spec.rules, loadUserRules(rulesPath, spec.model)) };
}

const FORMATS: readonly FlowKind[] = ['qemu-trace', 'dpdk-log', 'libvhost-user-log', 'strace'];

async function runCheck(o: Opts, io: CliIo): Promise<number> {
  const file = o.positional[0];
  if (!file) throw new UsageError('check needs a FILE');
  const format = str(o, '--format');
  if (format !== undefined && !(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
  const spec = specAndRules(o, process.cwd());
  const connection = str(o, '--connection');
  const r = await checkFile(file, spec, { format: format as FlowKind | undefined, connection, qemuVersion: str(o, '--qemu-version'), signal: io.signal });
  if (o.flags.has('--json')) {
    io.out(JSON.stringify({
      file, spec: spec.source, format: r.flow.format, connection: r.flow.connection ?? null, messages: r.messageCount,
      violations: r.violations.map((v) => ({ rule: v.rule, line: v.line, message: v.message, sentence: v.sentence, specLine: v.specLine })),
      unknown: r.unknown,
      otherConnections: r.flow.otherConnections,
      ...(r.flow.events ? { qemuEvents: r.flow.events } : {}),
    }, null, 2) + '\n');
  } else {
    io.out(`${file}: ${r.messageCount} messages (${r.flow.format}${r.flow.connection ? `, ${r.flow.connection}` : ''}), spec ${spec.source}\n`);
    for (const v of r.violations) io.out(`${file}:${v.line}: ${v.rule}: ${v.message}\n    spec line ${v.specLine}: "${v.sentence}"\n`);
    for (const u of r.unknown) io.out(`${file}:${u.line}: unknown ${u.rule} (${u.count}x): ${u.message}\n`);
    const events = Object.entries(r.flow.events ?? {});
    if (events.length) io.out(`QEMU postcopy events: ${events.map(([n, e]) => `${n} ${e.count}x (first line ${e.firstLine})`).join(', ')}\n`);
    if (r.flow.otherConnections.length) io.out(`other connections not checked: ${r.flow.otherConnections.join(', ')} (use --connection)\n`);
    io.out(`${r.violations.length} violation${r.violations.length === 1 ? '' : 's'}, ${r.unknown.length} rule${r.unknown.length === 1 ? '' : 's'} undecided\n`);
  }
  return r.violations.length ? 1 : 0;
}

function runRules(o: Opts, io: CliIo): number {
  const spec = specAndRules(o, process.cwd());
  const m = spec.model;
  const messages = [...m.frontEnd, ...m.backEnd].map((d) => ({
    name: d.name, id: d.id, direction: d.direction, ...(d.aliases.length ? { aliases: d.aliases } : {}), line: d.line,
    ...(d.ioctl !== undefined ? { ioctl: d.ioctl } : {}),
    ...(d.requestPayload !== undefined ? { requestPayload: d.requestPayload } : {}),
    ...(d.replyPayload !== undefined ? { replyPayload: d.replyPayload } : {}),
  }));
  if (o.flags.has('--json')) {
    io.out(JSON.stringify({
      spec: spec.source,
      messages,
      protocolFeatures: m.protocolFeatures.map((f) => ({ name: f.name, bit: f.bit, line: f.line })),
      features: m.virtioFeatures.map((f) => ({ name: f.name, bit: f.bit, line: f.line })),
      headerFlags: m.headerFlags,
      rules: spec.rules,
    }, null, 2) + '\n');
    return 0;
  }
  io.out(`spec: ${spec.source}\n\nmessages:\n`);
  for (const d of messages) io.out(`  ${d.direction.padEnd(9)} ${String(d.id).padStart(2)}  ${d.name}\n`);
  io.out('\nprotocol features:\n');
  for (const f of m.protocolFeatures) io.out(`  ${String(f.bit).padStart(2)}  ${f.name}\n`);
  io.out('\nrules:\n');
  for (const r of spec.rules) io.out(`  ${r.id} [${r.kind}] line ${r.line}: ${r.sentence}\n`);
  return 0;
}

async function runLint(o: Opts, io: CliIo): Promise<number> {
  const file = o.positional[0];
  if (!file) throw new UsageError('lint needs the SPEC document');
  const spec = loadSpecFile(file);
  const issues = await lintSpecWithTree(spec.model, str(o, '--qemu-tree'));
  if (o.flags.has('--json')) io.out(JSON.stringify({ spec: file, issues }, null, 2) + '\n');
  else {
    for (const i of issues) io.out(`${file}:${i.line}: ${i.severity}: ${i.code}: ${i.message}\n`);
    io.out(`${issues.length} issue${issues.length === 1 ? '' : 's'}\n`);
  }
  return issues.some((i) => i.severity === 'error') ? 1 : 0;
}

async function runCapture(o: Opts, io: CliIo): Promise<number> {
  const pid = Number(str(o, '--pid'));
  const out = str(o, '--out');
  if (!Number.isInteger(pid) || pid <= 0) throw new UsageError('capture needs --pid PID');
  if (!out) throw new UsageError('capture needs --out FILE');
  io.err(`strace ${straceArgs({ pid, out }).join(' ')}\n`);
  const cap = startCapture({ pid, out });
  await cap.attached;
  io.err(`capturing process ${pid} into ${out}; Ctrl-C to stop\n`);
  const exited = new Promise<void>((resolve) => cap.child.once('exit', () => resolve()));
  await Promise.race([exited, new Promise<void>((resolve) => io.signal.addEventListener('abort', () => resolve(), { once: true }))]);
  const code = await cap.stop();
  io.err(`capture stopped; check it with: qmig vhost-user check ${out}\n`);
  return code === 0 || code === null ? 0 : 1;
}

export const vhostUserCommand: CliCommand = {
  name: 'vhost-user',
  summary: 'check vhost-user flows (QEMU traces, DPDK logs, strace captures) against the spec; lint the spec',
  help: HELP,
  async run(args, io) {
    const [sub, ...rest] = args;
    const o = parseArgs(rest);
    switch (sub) {
      case 'check': return runCheck(o, io);
      case 'rules': return runRules(o, io);
      case 'lint': return runLint(o, io);
      case 'capture': return runCapture(o, io);
      case undefined: throw new UsageError('expected a subcommand: check, rules, lint or capture');
      default: throw new UsageError(`unknown subcommand '${sub}': expected check, rules, lint or capture`);
    }
  },
};
