/**
 * How the workbench writes quantities, everywhere (CLI, sidebar, debug variables, webviews):
 * durations, positions on a time axis, bytes, byte rates, bit rates and counts, each in the
 * unit its size calls for. Plain functions with no imports, so the browser bundles use the
 * same ones as Node. A missing value (null, undefined, NaN) is written "n/a".
 */

export const NA = 'n/a';

const missing = (v: number | null | undefined): v is null | undefined => v === null || v === undefined || !Number.isFinite(v);

/** Three significant digits, at most: 1.25, 26.4, 290; a whole number as it is (9, not 9.00). */
function sig3(v: number): string {
  const a = Math.abs(v);
  return Number.isInteger(v) ? String(v) : v.toFixed(a >= 99.95 ? 0 : a >= 9.995 ? 1 : 2);
}

/** A count with thousands separators: 25,630; fractionDigits more where the figure has them (2,644.6). */
export function formatNumber(v: number, fractionDigits = 0): string {
  return v.toLocaleString('en-US', { maximumFractionDigits: fractionDigits });
}

/** A whole count, or n/a. */
export function formatCount(v: number | null | undefined): string {
  return missing(v) ? NA : formatNumber(Math.round(v));
}

/**
 * A duration given in ns, in the unit its size calls for: "850 ns", "7 µs", "12.4 ms",
 * "2.64 s", "2 min 5 s", "1 h 3 min".
 */
export function formatDuration(ns: number | null | undefined): string {
  if (missing(ns)) return NA;
  const a = Math.abs(ns);
  const sign = ns < 0 ? '−' : '';
  if (a < 1e3) return `${sign}${Math.round(a)} ns`;
  if (a < 999.5e3) { const us = a / 1e3; return `${sign}${Number.isInteger(us) ? us : us.toFixed(us < 9.95 ? 1 : 0)} µs`; }
  if (a < 999.5e6) return `${sign}${sig3(a / 1e6)} ms`;
  if (a < 59.95e9) return `${sign}${sig3(a / 1e9)} s`;
  const s = Math.round(a / 1e9);
  if (s < 3600) return `${sign}${Math.floor(s / 60)} min ${s % 60} s`;
  return `${sign}${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** A difference of durations in ns, signed: "+0.6 ms", "−1.2 ms", "±0 ms", "+12.1 s". */
export function formatDurationDiff(ns: number | null | undefined): string {
  if (missing(ns)) return NA;
  return ns === 0 ? '±0 ms' : `${ns > 0 ? '+' : ''}${formatDuration(ns)}`;
}

/** A duration given in µs (QEMU's downtime figures): formatDuration of it. */
export const formatMicros = (us: number | null | undefined): string => (us === 0 ? '0 µs' : formatDuration(missing(us) ? null : us * 1e3));

/** A duration given in ms (query-migrate's total-time, downtime, blocktime). */
export const formatMillis = (ms: number | null | undefined): string => formatDuration(missing(ms) ? null : ms * 1e6);

/** A duration given in s (time left at the current rate). */
export const formatSeconds = (s: number | null | undefined): string => formatDuration(missing(s) ? null : s * 1e9);

/** The unit and precision positions on a time axis are written in: one unit for the whole visible span. */
export interface TimeScale {
  readonly unit: 's' | 'ms' | 'µs' | 'ns';
  /** ns per unit */
  readonly per: number;
  readonly decimals: number;
}

/**
 * The scale of an axis showing spanNs: the unit by the span (s from 1 s up, ms from 1 ms, …),
 * and as many decimals as resolving stepNs needs (a tick step, or the time of one pixel).
 */
export function timeScale(spanNs: number, stepNs: number): TimeScale {
  const a = Math.abs(spanNs);
  const [unit, per] = a >= 1e9 ? ['s', 1e9] as const : a >= 1e6 ? ['ms', 1e6] as const : a >= 1e3 ? ['µs', 1e3] as const : ['ns', 1] as const;
  const step = Math.abs(stepNs) / per;
  const decimals = step > 0 && Number.isFinite(step) ? Math.min(9, Math.max(0, Math.ceil(-Math.log10(step) - 1e-9))) : 0;
  return { unit, per, decimals };
}

/** A time on an axis of that scale: "1.204 s", "−0.2 s". */
export function formatTimeAt(ns: number, scale: TimeScale): string {
  const v = ns / scale.per;
  const text = Math.abs(v).toFixed(scale.decimals);
  return `${v < 0 && Number(text) !== 0 ? '−' : ''}${text} ${scale.unit}`;
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;
export type ByteUnit = typeof BYTE_UNITS[number];

/** The binary unit for a byte figure of this size (so values of one chart share it). */
export function byteUnit(maxBytes: number): { readonly unit: ByteUnit; readonly per: number } {
  let i = 0;
  let v = Math.abs(maxBytes);
  while (v >= 1024 && i < BYTE_UNITS.length - 1) { v /= 1024; i++; }
  return { unit: BYTE_UNITS[i]!, per: 1024 ** i };
}

/** A value in a byte unit: "100.6", "1.25", "512"; an exact multiple without decimals ("64"). */
function inUnit(bytes: number, per: number): string {
  if (per === 1) return formatNumber(Math.round(bytes));
  const v = bytes / per;
  return Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) >= 999.5 ? 0 : Math.abs(v) >= 9.995 ? 1 : 2);
}

/** Bytes in binary units: "512 B", "1.31 KiB", "100.6 MiB", "2 GiB". */
export function formatBytes(bytes: number | null | undefined): string {
  if (missing(bytes)) return NA;
  const u = byteUnit(bytes);
  return `${inUnit(bytes, u.per)} ${u.unit}`;
}

/** A byte rate (bytes per second, as max-bandwidth is given): "32 MiB/s", "35.1 MiB/s". */
export function formatByteRate(bytesPerSecond: number | null | undefined): string {
  return missing(bytesPerSecond) ? NA : `${formatBytes(bytesPerSecond)}/s`;
}

const SI = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']] as const;

/** A figure with an SI prefix joined to its unit symbol: "322 Mbit/s", "1.20 Gbit/s". */
export function formatSi(v: number | null | undefined, unit: string): string {
  if (missing(v)) return NA;
  const a = Math.abs(v);
  for (const [f, p] of SI) if (a >= f * 0.9995) return `${sig3(v / f)} ${p}${unit}`;
  return `${Number.isInteger(v) ? v : sig3(v)} ${unit}`;
}

/** QEMU's mbps (megabits per second, as query-migrate reports it) as a bit rate: "322 Mbit/s". */
export const formatMbps = (mbps: number | null | undefined): string => formatSi(missing(mbps) ? null : mbps * 1e6, 'bit/s');
