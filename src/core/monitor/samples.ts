import type { MigrationInfo } from '../qmp/migration';

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

/** The series the chart can draw, in display order. */
export const sampleSeries = ['transferred', 'remaining', 'mbps', 'dirtyRate', 'pagesPerSecond', 'passes', 'postcopyRequests'] as const;
export type SampleSeries = (typeof sampleSeries)[number];

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

export function formatBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i] ?? 'B'}`;
}

export function formatSeconds(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return '-';
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 120) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** `active 42% 1.2 GiB/2.0 GiB 950 Mbps pass 3 ~2.1 s left`, for the status bar and the CLI. */
export function summaryLine(info: MigrationInfo): string {
  const status = info.status ?? 'none';
  const ram = info.ram;
  if (!ram) return info['error-desc'] ? `${status}: ${info['error-desc']}` : status;
  const p = progressOf(info);
  const parts = [status];
  if (p !== undefined) parts.push(`${Math.round(p * 100)}%`);
  parts.push(`${formatBytes(ram.transferred)} sent`, `${formatBytes(ram.remaining)} left`, `${ram.mbps.toFixed(0)} Mbps`, `pass ${ram['dirty-sync-count']}`);
  if (status === 'completed') {
    if (info['total-time'] !== undefined) parts.push(`in ${formatSeconds(info['total-time'] / 1000)}`);
    if (info.downtime !== undefined) parts.push(`downtime ${info.downtime} ms`);
  } else {
    const left = secondsLeft(info);
    if (left !== undefined) parts.push(`~${formatSeconds(left)} left`);
  }
  if (info['error-desc']) parts.push(`error: ${info['error-desc']}`);
  return parts.join('  ');
}
