/**
 * Where the runtime gets its QMP monitors. QEMU serves one client per QMP socket, so inside the
 * extension a socket that the Connections view already holds is borrowed from it; the stand-alone
 * adapter opens its own connections.
 */
import { resolve } from 'node:path';
import { QmpClient } from '../../core/qmp/client';
import { formatQmpTarget, parseQmpTarget } from '../../core/qmp/target';
import { MigrationMonitor } from '../../core/monitor/monitor';
import type { Role } from '../../core/monitor/checks';

export interface MonitorLease {
  readonly monitor: MigrationMonitor;
  /** True when the connection belongs to someone else (the Connections view) and outlives the session. */
  readonly borrowed: boolean;
  /** Gives the connection back: closes it when the session opened it. Idempotent. */
  release(): Promise<void>;
}

/** A lease of a connection the session opened: `end` closes it, once, on the first release. */
export function ownedLease(monitor: MigrationMonitor, end: () => Promise<void>): MonitorLease {
  let released = false;
  return {
    monitor,
    borrowed: false,
    release: async () => {
      if (released) return;
      released = true;
      await end();
    },
  };
}

export interface MonitorSource {
  acquire(address: string, role: Role, label: string, timeoutMs: number): Promise<MonitorLease>;
}

/** One spelling per QMP address, so `./src.sock`, `unix:/abs/src.sock` and `/abs/src.sock` compare equal. */
export function normalizeAddress(address: string): string {
  const t = parseQmpTarget(address);
  return t.kind === 'unix' ? formatQmpTarget({ kind: 'unix', path: resolve(t.path) }) : formatQmpTarget(t);
}

/** Opens a connection of its own per side (the stand-alone adapter, tests, benchmarks). */
export class OwnedMonitors implements MonitorSource {
  async acquire(address: string, role: Role, _label: string, timeoutMs: number): Promise<MonitorLease> {
    const client = await QmpClient.connect(address, { connectTimeoutMs: timeoutMs });
    let monitor: MigrationMonitor;
    try {
      monitor = await MigrationMonitor.attach(client, { role });
    } catch (e) {
      await client.close();
      throw e;
    }
    return ownedLease(monitor, async () => {
      monitor.dispose();
      await client.close();
    });
  }
}
