import { parseArgs } from 'node:util';
import { QmpClient } from '../../core/qmp';
import { MigrationMonitor } from '../../core/monitor';
import { UsageError, type CliCommand, type CliIo } from '../command';
import { eventLine, LiveView, statusLines } from './liveView';

const help = `qmig watch - follow a live migration over QMP

Usage:
  qmig watch SOCKET [SOCKET2] [--interval MS] [--timeout MS]

Shows, for each QEMU, the migration status, a progress bar, throughput, passes
(dirty-sync-count), time left and the checks' warnings, refreshed in place on a terminal
(one line per change otherwise), and every QMP event as it arrives. SOCKET is a unix
socket path or tcp:HOST:PORT; the first one decides when to stop.

Options:
  --interval MS  query-migrate interval while a migration is active (default 250)
  --timeout MS   give up after this long (exit 3)
  --help, -h     show this help

Exit status: 0 the migration completed, 1 it failed or was cancelled (or the
connection was lost), 2 bad usage, 3 timeout. A migration that already ended when
watch starts is reported and decides the exit status at once.
`;

const exitCodes: Record<string, number> = { completed: 0, failed: 1, cancelled: 1 };

export const watchCommand: CliCommand = {
  name: 'watch',
  summary: 'watch a live migration: status, progress, rates, passes, events',
  help,
  async run(args: string[], io: CliIo): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({ args, allowPositionals: true, strict: true, options: { interval: { type: 'string' }, timeout: { type: 'string' } } });
    } catch (e) {
      throw new UsageError(e instanceof Error ? e.message : String(e));
    }
    const sockets = parsed.positionals;
    if (sockets.length < 1 || sockets.length > 2) throw new UsageError('give one or two QMP sockets');
    const interval = Number(parsed.values.interval ?? 250);
    const timeout = parsed.values.timeout === undefined ? 0 : Number(parsed.values.timeout);
    if (!Number.isFinite(interval) || interval < 10) throw new UsageError('--interval must be a number of milliseconds >= 10');
    if (!Number.isFinite(timeout) || timeout < 0) throw new UsageError('--timeout must be a number of milliseconds');

    const view = new LiveView(io);
    const monitors: Array<{ label: string; m: MigrationMonitor }> = [];
    try {
      for (const [i, s] of sockets.entries()) {
        const client = await QmpClient.connect(s, { signal: io.signal });
        const m = await MigrationMonitor.attach(client, { fastPollMs: interval, slowPollMs: Math.max(interval, 1000), changeDelayMs: 50, role: sockets.length === 2 ? (i === 0 ? 'source' : 'destination') : 'none' });
        const label = sockets.length === 2 ? (i === 0 ? 'src' : 'dst') : 'qemu';
        monitors.push({ label, m });
        m.onEvent((e) => view.log(eventLine(label, e.event)));
      }
      const first = monitors[0];
      if (!first) return 2;
      return await new Promise<number>((resolve) => {
        const deadline = timeout > 0 ? setTimeout(() => finish(3, `timed out after ${timeout} ms`), timeout) : undefined;
        const onAbort = (): void => finish(130, 'interrupted');
        io.signal.addEventListener('abort', onAbort, { once: true });
        const finish = (code: number, why?: string): void => {
          clearTimeout(deadline);
          io.signal.removeEventListener('abort', onAbort);
          if (why) view.log(why);
          resolve(code);
        };
        const update = (): void => {
          view.status(monitors.flatMap(({ label, m }) => statusLines(label, m)));
          const code = exitCodes[first.m.status];
          if (code !== undefined) finish(code);
        };
        for (const { m } of monitors) {
          m.onChange(update);
          m.client.onClose((err) => finish(1, `connection lost: ${err?.message ?? 'QEMU closed the QMP connection'}`));
        }
        update();
      });
    } finally {
      for (const { m } of monitors) {
        m.dispose();
        await m.client.close();
      }
    }
  },
};
