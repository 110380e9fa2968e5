/**
 * Variable rows of the debugger's scopes, built from QMP replies (pure: no protocol, no I/O).
 * Nested objects become expandable rows; capabilities and parameters that differ between
 * source and destination are marked.
 */
import { formatBytes } from '../../core/units';
import type { SideName } from '../config';

export interface VarRow {
  name: string;
  value: string;
  type?: string;
  /** An object or array to expand. */
  children?: unknown;
  /** setVariable applies to it. */
  editable?: 'capability' | 'parameter';
  /** Differs from the other side. */
  differs?: boolean;
}

const byteKeys = new Set([
  'transferred', 'remaining', 'total', 'normal-bytes', 'multifd-bytes', 'precopy-bytes', 'downtime-bytes', 'postcopy-bytes',
  'cache-size', 'bytes', 'xbzrle-cache-size', 'max-bandwidth', 'max-postcopy-bandwidth', 'avail-switchover-bandwidth',
]);
const msKeys = new Set(['total-time', 'setup-time', 'downtime', 'expected-downtime', 'downtime-limit', 'postcopy-blocktime', 'x-checkpoint-delay', 'announce-initial', 'announce-max', 'announce-step']);

/** A scalar as a developer reads it: bytes with their unit, times in ms, rates with theirs. */
export function scalarText(key: string, v: unknown): string {
  if (typeof v === 'number') {
    if (byteKeys.has(key) && Number.isFinite(v) && v >= 1024) return `${v} (${formatBytes(v)}${key.includes('bandwidth') ? '/s' : ''})`;
    if (msKeys.has(key)) return `${v} ms`;
    if (key === 'mbps') return `${v.toFixed(2)} Mbps`;
    if (key === 'dirty-pages-rate' || key === 'pages-per-second') return `${v} pages/s`;
    return String(v);
  }
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || v === undefined) return 'null';
  return JSON.stringify(v);
}

function summary(v: unknown): string {
  if (Array.isArray(v)) return `[${v.length}]`;
  if (typeof v === 'object' && v !== null) {
    const keys = Object.keys(v);
    return `{${keys.slice(0, 4).join(', ')}${keys.length > 4 ? ', …' : ''}}`;
  }
  return scalarText('', v);
}

/** Children of a JSON value: object members or array elements. */
export function jsonRows(value: unknown): VarRow[] {
  const entries: Array<[string, unknown]> = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : typeof value === 'object' && value !== null
      ? Object.entries(value)
      : [];
  return entries.map(([k, v]) => {
    const nested = typeof v === 'object' && v !== null;
    return nested ? { name: k, value: summary(v), children: v } : { name: k, value: scalarText(k, v), type: typeof v };
  });
}

/** The Migration scope: `status` first, then the rest of `query-migrate` as QEMU orders it. */
export function migrationRows(info: Record<string, unknown>): VarRow[] {
  const rows = jsonRows(info);
  if (!('status' in info)) rows.unshift({ name: 'status', value: '"none"', type: 'string' });
  return rows.sort((a, b) => Number(b.name === 'status') - Number(a.name === 'status'));
}

function otherText(v: unknown): string {
  return v === undefined ? 'absent' : typeof v === 'boolean' ? (v ? 'on' : 'off') : JSON.stringify(v);
}

/** Capabilities of one side, sorted, each marked when the other side has it differently. */
export function capabilityRows(mine: Readonly<Record<string, boolean>>, other: Readonly<Record<string, boolean>> | undefined, otherSide: SideName): VarRow[] {
  return Object.keys(mine).sort().map((name) => {
    const v = mine[name] === true;
    const o = other?.[name];
    const differs = other !== undefined && (o === true) !== v;
    return { name, value: `${v ? 'on' : 'off'}${differs ? `  ≠ ${otherSide}: ${otherText(o)}` : ''}`, type: 'bool', editable: 'capability', differs };
  });
}

/** Parameters of one side, sorted, each marked when the other side has a different value. */
export function parameterRows(mine: Readonly<Record<string, unknown>>, other: Readonly<Record<string, unknown>> | undefined, otherSide: SideName): VarRow[] {
  return Object.keys(mine).sort().map((name) => {
    const v = mine[name];
    const o = other?.[name];
    const differs = other !== undefined && JSON.stringify(o) !== JSON.stringify(v);
    const nested = typeof v === 'object' && v !== null;
    const row: VarRow = {
      name,
      value: `${nested ? summary(v) : scalarText(name, v)}${differs ? `  ≠ ${otherSide}: ${otherText(o)}` : ''}`,
      type: Array.isArray(v) ? 'array' : typeof v,
      editable: 'parameter',
      differs,
    };
    if (nested) row.children = v;
    return row;
  });
}

/** The other side's name. */
export function otherSide(side: SideName): SideName {
  return side === 'source' ? 'destination' : 'source';
}
