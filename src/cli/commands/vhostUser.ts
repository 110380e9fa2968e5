import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CliCommand, CliIo } from '../command';
import { UsageError } from '../command';
import { parseCommandArgs } from '../args';
import type { FlowKind, LoadedSpec } from '../../core/vhostuser/check';
import { checkFile, checkRecording, isRecordingDir, type FileCheckResult } from '../../core/vhostuser/checkFile';
import { choiceText, qemuTreesAmong } from '../../core/trace/catalogueResolver';
import { loadSpec, loadSpecFile } from '../../core/vhostuser/specSource';
import { loadUserRules, mergeRules, WORKSPACE_RULES } from '../../core/vhostuser/userRules';
import { lintSpecWithTree } from '../../core/vhostuser/lint';
import { startCapture, straceArgs } from '../../core/vhostuser/capture';

const HELP = `qmig vhost-user - check vhost-user message flows against the spec

Usage:
  qmig vhost-user check FILE|RECORDING [--backend-log PATH] [--qemu-stderr PATH]
                             [--spec PATH] [--qemu-tree DIR] [--rules PATH]
                             [--format qemu-trace|dpdk-log|libvhost-user-log|strace]
                             [--connection SOCKET|fd N] [--qemu-version V] [--json]
      FILE is a QEMU trace (-trace enable=vhost_user_*; log, .gz, .xz or
      simpletrace, whose catalogue --qemu-version picks), a DPDK vhost log
      (--log-level=lib.vhost.config:debug), a libvhost-user debug log, an
      strace capture, or a back-end's own output alone. --backend-log (the
      back-end's output: tests/vhost-user-bridge, libvhost-user) and
      --qemu-stderr (QEMU's error output) are read beside it: a back-end that
      died is reported at the message it died on, with its reason and each
      source's line. RECORDING is a folder of a lab or task run: each side's
      trace is checked with that side's bridge log and QEMU stderr. Exit 1
      when a rule is violated. Rules that need what the file does not show
      (payloads, flags) are listed as unknown.
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
--help, -h shows this help.
`;

const options = {
  spec: { type: 'string' }, 'qemu-tree': { type: 'string' }, rules: { type: 'string' }, format: { type: 'string' },
  connection: { type: 'string' }, pid: { type: 'string' }, out: { type: 'string' }, 'qemu-version': { type: 'string' },
  'backend-log': { type: 'string' }, 'qemu-stderr': { type: 'string' },
  json: { type: 'boolean' },
} as const;

type Opts = ReturnType<typeof parseOpts>;

function parseOpts(args: readonly string[]) {
  const { values, positionals } = parseCommandArgs(args, options);
  return { values, positional: positionals };
}

function specAndRules(o: Opts, cwd: string): LoadedSpec {
  const spec = loadSpec({ spec: o.values.spec, qemuTree: o.values['qemu-tree'], cwd });
  const rulesPath = o.values.rules ?? (existsSync(join(cwd, WORKSPACE_RULES)) ? join(cwd, WORKSPACE_RULES) : undefined);
  if (!rulesPath) return spec;
  return { ...spec, rules: mergeRules(spec.rules, loadUserRules(rulesPath, spec.model)) };
}

const FORMATS: readonly FlowKind[] = ['qemu-trace', 'dpdk-log', 'libvhost-user-log', 'strace'];

async function runCheck(o: Opts, io: CliIo): Promise<number> {
  const file = o.positional[0];
  if (!file) throw new UsageError('check needs a FILE or a RECORDING folder');
  const format = o.values.format;
  if (format !== undefined && !(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
  const spec = specAndRules(o, process.cwd());
  const version = o.values['qemu-version'];
  // The catalogue that fits each trace: the current folder's trace-events when it is a QEMU tree, else a built-in; --qemu-version forces one.
  const catalogues = { forced: version === undefined ? undefined : { version }, trees: qemuTreesAmong([{ path: process.cwd(), origin: 'current folder' as const }]) };
  let checked: { file: string; result: FileCheckResult }[];
  if (isRecordingDir(file)) {
    if (o.values['backend-log'] !== undefined || o.values['qemu-stderr'] !== undefined || format !== undefined) {
      throw new UsageError('a RECORDING folder names its own sources: --backend-log, --qemu-stderr and --format are for a FILE');
    }
    checked = (await checkRecording(file, spec, { catalogues, signal: io.signal })).map((c) => ({ file: c.side.trace, result: c.result }));
  } else {
    const result = await checkFile(file, spec, {
      format: format as FlowKind | undefined, connection: o.values.connection, catalogues, signal: io.signal,
      backendLog: o.values['backend-log'], qemuStderr: o.values['qemu-stderr'],
    });
    checked = [{ file, result }];
  }
  for (const c of checked) if (c.result.catalogue?.warning) io.err(`qmig vhost-user: ${c.file}: ${c.result.catalogue.warning}\n`);
  if (o.values.json === true) {
    const json = checked.map(({ file: f, result: r }) => ({
      file: f, spec: spec.source, format: r.flow.format, connection: r.flow.connection ?? null, messages: r.messageCount,
      violations: r.violations,
      unknown: r.unknown,
      otherConnections: r.flow.otherConnections,
      ...(r.flow.events ? { qemuEvents: r.flow.events } : {}),
      ...(r.flow.connectionEvents?.length ? { connectionEvents: r.flow.connectionEvents } : {}),
      ...(r.backend ? { backendLog: r.backend.file ?? null, backendPanic: r.backend.log.panic ?? null } : {}),
      ...(r.stderr ? { qemuStderr: r.stderr.file ?? null, qemuErrors: r.stderr.lines } : {}),
      catalogue: r.catalogue,
    }));
    io.out(JSON.stringify(json.length === 1 ? json[0] : json, null, 2) + '\n');
  } else {
    for (const { file: f, result: r } of checked) printCheck(io, f, r, spec);
  }
  return checked.some((c) => c.result.violations.length > 0) ? 1 : 0;
}

function printCheck(io: CliIo, file: string, r: FileCheckResult, spec: LoadedSpec): void {
  io.out(`${file}: ${r.messageCount} messages (${r.flow.format}${r.flow.connection ? `, ${r.flow.connection}` : ''}), spec ${spec.source}\n`);
  if (r.catalogue) io.out(`${choiceText(r.catalogue)}\n`);
  for (const v of r.violations) {
    io.out(`${v.file ?? file}:${v.line}: ${v.rule}: ${v.message}\n`);
    for (const s of v.sources ?? []) io.out(`    ${s.file ?? file}:${s.line}: ${s.text}  (${s.role})\n`);
    const citations = v.citations ?? (v.sentence ? [{ sentence: v.sentence, specLine: v.specLine }] : []);
    for (const c of citations) io.out(`    spec line ${c.specLine}: "${c.sentence}"\n`);
    if (v.note) io.out(`    ${v.note}\n`);
  }
  for (const u of r.unknown) io.out(`${file}:${u.line}: unknown ${u.rule} (${u.count}x): ${u.message}\n`);
  const events = Object.entries(r.flow.events ?? {});
  if (events.length) io.out(`QEMU postcopy events: ${events.map(([n, e]) => `${n} ${e.count}x (first line ${e.firstLine})`).join(', ')}\n`);
  if (r.flow.otherConnections.length) io.out(`other connections not checked: ${r.flow.otherConnections.join(', ')} (use --connection)\n`);
  io.out(`${r.violations.length} violation${r.violations.length === 1 ? '' : 's'}, ${r.unknown.length} rule${r.unknown.length === 1 ? '' : 's'} undecided\n`);
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
  if (o.values.json === true) {
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
  const issues = await lintSpecWithTree(spec.model, o.values['qemu-tree']);
  if (o.values.json === true) io.out(JSON.stringify({ spec: file, issues }, null, 2) + '\n');
  else {
    for (const i of issues) io.out(`${file}:${i.line}: ${i.severity}: ${i.code}: ${i.message}\n`);
    io.out(`${issues.length} issue${issues.length === 1 ? '' : 's'}\n`);
  }
  return issues.some((i) => i.severity === 'error') ? 1 : 0;
}

async function runCapture(o: Opts, io: CliIo): Promise<number> {
  const pid = Number(o.values.pid);
  const out = o.values.out;
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
    const o = parseOpts(args);
    const [sub, ...positional] = o.positional;
    if (o.values.help) {
      io.out(HELP);
      return 0;
    }
    const opts = { values: o.values, positional };
    switch (sub) {
      case 'check': return runCheck(opts, io);
      case 'rules': return runRules(opts, io);
      case 'lint': return runLint(opts, io);
      case 'capture': return runCapture(opts, io);
      case undefined: throw new UsageError('expected a subcommand: check, rules, lint or capture');
      default: throw new UsageError(`unknown subcommand '${sub}': expected check, rules, lint or capture`);
    }
  },
};
