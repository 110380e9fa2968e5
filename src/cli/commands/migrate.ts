import { parseArgs } from 'node:util';
import { QmpClient } from '../../core/qmp';
import { MigrationMonitor, PairError, parseParameterValue, runPairedMigration, type PairRequest } from '../../core/monitor';
import { UsageError, type CliCommand, type CliIo } from '../command';
import { LiveView, progressBar } from './liveView';
import { progressOf, summaryLine } from '../../core/monitor';

const help = `qmig migrate - migrate a source QEMU to a destination QEMU (both over QMP)

Usage:
  qmig migrate SRC_SOCKET DST_SOCKET [--cap NAME=on|off]... [--param NAME=VALUE]...
               [--uri URI] [--postcopy-after MS] [--timeout MS] [--force]

Sets the same capabilities and parameters on both sides, checks the pair (postcopy-ram or
multifd on one side only, different multifd channel counts or compression, zero-page-detection
without multifd), runs migrate-incoming on the destination (default URI: a fresh unix socket in
a private temporary folder), migrate on the source, and shows progress until the end.
The destination must have been started with -incoming defer.

Options:
  --cap NAME=on|off     migration capability, on both sides (repeatable)
  --param NAME=VALUE    migration parameter, validated against the QEMU's schema (repeatable)
  --uri URI             migration URI instead of a fresh unix socket
  --postcopy-after MS   switch to postcopy this long after the start (needs --cap postcopy-ram=on)
  --timeout MS          cancel the migration if it has not ended after this long
  --force               start even when the checks find errors

Exit status: 0 completed, 1 failed, cancelled, refused by the checks or a QMP error, 2 bad usage.

Example:
  qmig migrate /tmp/src.sock /tmp/dst.sock --cap multifd=on --param multifd-channels=4
`;

function keyValue(text: string, what: string): [string, string] {
  const i = text.indexOf('=');
  if (i <= 0) throw new UsageError(`${what} needs NAME=VALUE, got '${text}'`);
  return [text.slice(0, i), text.slice(i + 1)];
}

export const migrateCommand: CliCommand = {
  name: 'migrate',
  summary: 'paired migration: same caps/params on both sides, incoming, migrate, progress',
  help,
  async run(args: string[], io: CliIo): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({
        args, allowPositionals: true, strict: true,
        options: {
          cap: { type: 'string', multiple: true }, param: { type: 'string', multiple: true }, uri: { type: 'string' },
          'postcopy-after': { type: 'string' }, timeout: { type: 'string' }, force: { type: 'boolean' },
        },
      });
    } catch (e) {
      throw new UsageError(e instanceof Error ? e.message : String(e));
    }
    const [srcAddr, dstAddr, ...rest] = parsed.positionals;
    if (!srcAddr || !dstAddr || rest.length > 0) throw new UsageError('give exactly two QMP sockets: SRC_SOCKET DST_SOCKET');
    const capabilities: Record<string, boolean> = {};
    for (const c of parsed.values.cap ?? []) {
      const [k, v] = keyValue(c, '--cap');
      if (!['on', 'off', 'true', 'false'].includes(v)) throw new UsageError(`--cap ${k}: value must be on or off, got '${v}'`);
      capabilities[k] = v === 'on' || v === 'true';
    }
    const num = (v: string | undefined, name: string): number | undefined => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a number of milliseconds`);
      return n;
    };
    const postcopyAfterMs = num(parsed.values['postcopy-after'], 'postcopy-after');
    const timeoutMs = num(parsed.values.timeout, 'timeout');

    const view = new LiveView(io);
    const monitors: MigrationMonitor[] = [];
    try {
      for (const [addr, role] of [[srcAddr, 'source'], [dstAddr, 'destination']] as const) {
        const client = await QmpClient.connect(addr, { signal: io.signal });
        monitors.push(await MigrationMonitor.attach(client, { role, slowPollMs: 5000 }));
      }
      const [src, dst] = monitors as [MigrationMonitor, MigrationMonitor];
      const parameters: Record<string, unknown> = {};
      for (const p of parsed.values.param ?? []) {
        const [k, v] = keyValue(p, '--param');
        const spec = src.features.parameters.find((s) => s.name === k);
        if (!spec) throw new UsageError(`QEMU ${src.version} has no migration parameter '${k}'`);
        const r = parseParameterValue(spec, v);
        if (!r.ok) throw new UsageError(r.message);
        parameters[k] = r.value;
      }
      const req: PairRequest = {
        capabilities, parameters,
        ...(parsed.values.uri !== undefined ? { uri: parsed.values.uri } : {}),
        ...(postcopyAfterMs !== undefined ? { postcopyAfterMs } : {}),
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        ...(parsed.values.force ? { force: true } : {}),
      };
      const r = await runPairedMigration(src, dst, req, {
        signal: io.signal,
        onStep: (s) => view.log(s),
        onWarnings: (ws) => ws.forEach((w) => view.log(`${w.severity}: ${w.message}`)),
        onProgress: (info) => view.status([`${progressBar(progressOf(info))} ${summaryLine(info)}`]),
      });
      view.log(`source: ${summaryLine(r.source)}`);
      if (r.destination) view.log(`destination: ${summaryLine(r.destination)}`);
      return r.status === 'completed' ? 0 : 1;
    } catch (e) {
      if (e instanceof UsageError) throw e;
      io.err(`qmig migrate: ${e instanceof PairError || e instanceof Error ? e.message : String(e)}\n`);
      return 1;
    } finally {
      for (const m of monitors) {
        m.dispose();
        await m.client.close();
      }
    }
  },
};
