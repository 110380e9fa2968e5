import { QmpClient } from '../../core/qmp/client';
import { finalStatuses } from '../../core/migration/actions';
import { MigrationMonitor } from '../../core/monitor/monitor';
import { interruptedExitCode, UsageError, type CliCommand, type CliIo } from '../command';
import { parseCommandArgs, wholeNumber } from '../args';
import { eventLine, LiveView, statusLines } from './liveView';

const help = `qmig watch - follow a live migration over QMP

Usage:
  qmig watch SOCKET [SOCKET2] [--interval MS] [--timeout MS]

Shows, for each QEMU, the migration status, a progress bar, throughput, passes
(dirty-sync-count), time left and the checks' warnings, refreshed in place on a terminal
(one line per change otherwise), and every QMP event as it arrives. SOCKET is a unix
socket path or tcp:HOST:PORT; the first one decides when to stop.

Options:
  --interval MS  query-migrate interval while a migration is active (default 250, at least 10)
  --timeout MS   give up after this long, connecting and attaching included (exit 3)
  --help, -h     show this help

Exit status: 0 the migration completed, 1 it failed or was cancelled (or a connection
failed or was lost), 2 bad usage, 3 timeout, 130 Ctrl-C (SIGINT), 143 SIGTERM. A
migration that already ended when watch starts is reported and decides the exit status
at once. Every connection is closed on every way out.
`;

/** 0 once the source completed, 1 at a final status (the migration actions' waiting rule), else still watching. */
function exitCodeOf(status: string): number | undefined {
  if (status === 'completed') return 0;
  return finalStatuses.has(status) ? 1 : undefined;
}

/** Why watching ended early: the --timeout. */
class WatchTimeout extends Error {}

export const watchCommand: CliCommand = {
  name: 'watch',
  summary: 'watch a live migration: status, progress, rates, passes, events',
  help,
  async run(args: string[], io: CliIo): Promise<number> {
    const parsed = parseCommandArgs(args, { interval: { type: 'string' }, timeout: { type: 'string' } });
    if (parsed.values.help) {
      io.out(help);
      return 0;
    }
    const sockets = parsed.positionals;
    if (sockets.length < 1 || sockets.length > 2) throw new UsageError('give one or two QMP sockets');
    const interval = wholeNumber('interval', parsed.values.interval, 10) ?? 250;
    const timeout = wholeNumber('timeout', parsed.values.timeout, 1) ?? 0;

    // One signal ends every wait: Ctrl-C/SIGTERM or the timeout; it also closes the clients,
    // so a connect or attach that hangs on a silent peer ends too.
    const timer = new AbortController();
    const deadline = timeout > 0 ? setTimeout(() => timer.abort(new WatchTimeout(`timed out after ${timeout} ms`)), timeout) : undefined;
    const stop = AbortSignal.any([io.signal, timer.signal]);
    const clients: QmpClient[] = [];
    const closeAll = (): void => void Promise.all(clients.map((c) => c.close()));
    stop.addEventListener('abort', closeAll, { once: true });
    const view = new LiveView(io);
    const monitors: Array<{ label: string; m: MigrationMonitor }> = [];
    const stopped = (): number | undefined => {
      if (io.signal.aborted) return interruptedExitCode(io.signal);
      if (timer.signal.aborted) return 3;
      return undefined;
    };
    try {
      for (const [i, s] of sockets.entries()) {
        const client = await QmpClient.connect(s, { signal: stop, ...(timeout > 0 ? { connectTimeoutMs: timeout } : {}) });
        clients.push(client);
        if (stop.aborted) break;
        const label = sockets.length === 2 ? (i === 0 ? 'src' : 'dst') : 'qemu';
        const m = await MigrationMonitor.attach(client, { fastPollMs: interval, slowPollMs: Math.max(interval, 1000), changeDelayMs: 50, role: sockets.length === 2 ? (i === 0 ? 'source' : 'destination') : 'none' });
        monitors.push({ label, m });
        // Events that arrived while attaching are in the monitor's ring: print them first.
        for (const e of m.events.toArray()) view.log(eventLine(label, e.event));
        m.onEvent((e) => view.log(eventLine(label, e.event)));
      }
      const first = monitors[0];
      const early = stopped();
      if (early !== undefined || !first) {
        view.log(timer.signal.aborted ? `timed out after ${timeout} ms` : 'interrupted');
        return early ?? 1;
      }
      return await new Promise<number>((resolve) => {
        const onStop = (): void => finish(stopped() ?? 1, timer.signal.aborted ? `timed out after ${timeout} ms` : 'interrupted');
        stop.addEventListener('abort', onStop, { once: true });
        let done = false;
        const finish = (code: number, why?: string): void => {
          if (done) return;
          done = true;
          stop.removeEventListener('abort', onStop);
          if (why) view.log(why);
          resolve(code);
        };
        const update = (): void => {
          view.status(monitors.flatMap(({ label, m }) => statusLines(label, m)));
          const code = exitCodeOf(first.m.status);
          if (code !== undefined) finish(code);
        };
        for (const { label, m } of monitors) {
          m.onChange(update);
          m.client.onClose((err) => {
            const code = stopped();
            if (code !== undefined) onStop();
            else finish(1, `${label}: connection lost: ${err?.message ?? 'QEMU closed the QMP connection'}`);
          });
        }
        update();
      });
    } catch (e) {
      const code = stopped();
      if (code === undefined) throw e;
      view.log(timer.signal.aborted ? `timed out after ${timeout} ms (while connecting to QMP)` : 'interrupted');
      return code;
    } finally {
      clearTimeout(deadline);
      stop.removeEventListener('abort', closeAll);
      for (const { m } of monitors) m.dispose();
      await Promise.all(clients.map((c) => c.close()));
    }
  },
};
