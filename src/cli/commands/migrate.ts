import { QmpClient } from '../../core/qmp/client';
import { runPairedMigration, type PairRequest } from '../../core/migration/actions';
import { MigrationMonitor } from '../../core/monitor/monitor';
import { parseParameterValue } from '../../core/monitor/features';
import { progressOf, summaryLine } from '../../core/monitor/samples';
import { UsageError, type CliCommand, type CliIo } from '../command';
import { parseCommandArgs, wholeNumber } from '../args';
import { capParamHelp, parseCapOption, parseParamOption } from '../migrationOptions';
import { LiveView, progressBar } from './liveView';

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
${capParamHelp}
                       (checked against the source QEMU's schema)
  --uri URI            migration URI instead of a fresh unix socket
  --postcopy-after MS  switch to postcopy this long after the start (needs --cap postcopy-ram=on)
  --timeout MS         give up connecting and attaching after this long, and cancel the
                       migration if it has not ended this long after its start
  --force              start even when the checks find errors
  --help, -h           show this help

Exit status: 0 completed, 1 failed, cancelled, refused by the checks, a QMP error or a
connection that failed, 2 bad usage, 130 Ctrl-C (SIGINT), 143 SIGTERM. Both connections
are closed on every way out.

Example:
  qmig migrate /tmp/src.sock /tmp/dst.sock --cap multifd=on --param multifd-channels=4
`;

/** A typed --param value as the text parseParameterValue reads. */
function asText(v: unknown): string {
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export const migrateCommand: CliCommand = {
  name: 'migrate',
  summary: 'paired migration: same caps/params on both sides, incoming, migrate, progress',
  help,
  async run(args: string[], io: CliIo): Promise<number> {
    const parsed = parseCommandArgs(args, {
      cap: { type: 'string', multiple: true }, param: { type: 'string', multiple: true }, uri: { type: 'string' },
      'postcopy-after': { type: 'string' }, timeout: { type: 'string' }, force: { type: 'boolean' },
    });
    if (parsed.values.help) {
      io.out(help);
      return 0;
    }
    const [srcAddr, dstAddr, ...rest] = parsed.positionals;
    if (!srcAddr || !dstAddr || rest.length > 0) throw new UsageError('give exactly two QMP sockets: SRC_SOCKET DST_SOCKET');
    const capabilities: Record<string, boolean> = {};
    for (const c of parsed.values.cap ?? []) {
      const [k, v] = parseCapOption(c);
      capabilities[k] = v;
    }
    const params = (parsed.values.param ?? []).map(parseParamOption);
    const postcopyAfterMs = wholeNumber('postcopy-after', parsed.values['postcopy-after']);
    const timeoutMs = wholeNumber('timeout', parsed.values.timeout, 1);

    const view = new LiveView(io);
    const clients: QmpClient[] = [];
    const monitors: MigrationMonitor[] = [];
    // --timeout bounds connecting and attaching too: on expiry the clients close, which ends any wait.
    const setup = new AbortController();
    const setupTimer = timeoutMs !== undefined ? setTimeout(() => setup.abort(new Error(`timed out after ${timeoutMs} ms while connecting to and attaching the QMP sockets`)), timeoutMs) : undefined;
    const closeAll = (): void => void Promise.all(clients.map((c) => c.close()));
    setup.signal.addEventListener('abort', closeAll, { once: true });
    try {
      try {
        for (const [addr, role] of [[srcAddr, 'source'], [dstAddr, 'destination']] as const) {
          const client = await QmpClient.connect(addr, { signal: AbortSignal.any([io.signal, setup.signal]) });
          clients.push(client);
          monitors.push(await MigrationMonitor.attach(client, { role, slowPollMs: 5000 }));
        }
      } catch (e) {
        if (setup.signal.aborted && !io.signal.aborted) throw setup.signal.reason;
        throw e;
      } finally {
        clearTimeout(setupTimer);
        setup.signal.removeEventListener('abort', closeAll);
      }
      const [src, dst] = monitors as [MigrationMonitor, MigrationMonitor];
      const parameters: Record<string, unknown> = {};
      for (const [k, v] of params) {
        const spec = src.features.parameters.find((s) => s.name === k);
        if (!spec) throw new UsageError(`QEMU ${src.version} has no migration parameter '${k}'`);
        const r = parseParameterValue(spec, asText(v));
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
    } finally {
      for (const m of monitors) m.dispose();
      await Promise.all(clients.map((c) => c.close()));
    }
  },
};
