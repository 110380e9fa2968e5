import type { MigrationInfo } from '../qmp/replies';
import { formatBytes, formatMbps, formatMillis, formatSeconds } from '../units';

/** One point of the live chart, taken from a `query-migrate` reply. */
export interface MigrationSample {
  /** Date.now() of the reply. */
  t: number;
  status: string;
  transferred: number;
  remaining: number;
  total: number;
  mbps: number;
  dirtyRate: number;
  pagesPerSecond: number;
  passes: number;
  postcopyRequests: number;
}

/** A sample when the reply carries RAM statistics, i.e. a migration has started. */
export function sampleOf(info: MigrationInfo, t: number): MigrationSample | undefined {
  const ram = info.ram;
  if (!ram) return undefined;
  return {
    t,
    status: info.status ?? 'none',
    transferred: ram.transferred,
    remaining: ram.remaining,
    total: ram.total,
    mbps: ram.mbps,
    dirtyRate: ram['dirty-pages-rate'],
    pagesPerSecond: ram['pages-per-second'] ?? 0,
    passes: ram['dirty-sync-count'],
    postcopyRequests: ram['postcopy-requests'],
  };
}

/** Share of RAM already sent, 0..1, or undefined without statistics. */
export function progressOf(info: MigrationInfo): number | undefined {
  const ram = info.ram;
  if (!ram || ram.total <= 0) return undefined;
  if (info.status === 'completed') return 1;
  return Math.min(1, Math.max(0, 1 - ram.remaining / ram.total));
}

/** Seconds until `remaining` is sent at the current rate, or undefined when nothing is moving. */
export function secondsLeft(info: MigrationInfo): number | undefined {
  const ram = info.ram;
  if (!ram || ram.mbps <= 0) return undefined;
  return ram.remaining / ((ram.mbps * 1e6) / 8);
}

/** `active  42%  1.20 GiB sent  2.00 GiB left  950 Mbit/s  pass 3  ~2.10 s left`, for the status bar and the CLI. */
export function summaryLine(info: MigrationInfo): string {
  const status = info.status ?? 'none';
  const ram = info.ram;
  if (!ram) return info['error-desc'] ? `${status}: ${info['error-desc']}` : status;
  const p = progressOf(info);
  const parts = [status];
  if (p !== undefined) parts.push(`${Math.round(p * 100)}%`);
  parts.push(`${formatBytes(ram.transferred)} sent`, `${formatBytes(ram.remaining)} left`, formatMbps(ram.mbps), `pass ${ram['dirty-sync-count']}`);
  if (status === 'completed') {
    if (info['total-time'] !== undefined) parts.push(`in ${formatMillis(info['total-time'])}`);
    if (info.downtime !== undefined) parts.push(`downtime ${formatMillis(info.downtime)}`);
  } else {
    const left = secondsLeft(info);
    if (left !== undefined) parts.push(`~${formatSeconds(left)} left`);
  }
  if (info['error-desc']) parts.push(`error: ${info['error-desc']}`);
  return parts.join('  ');
}
