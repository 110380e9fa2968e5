/**
 * Migration parameters as a developer reads them: each with the unit QEMU's QAPI schema gives
 * it (`xbzrle-cache-size 64 MiB`, `max-bandwidth 32 MiB/s`, `downtime-limit 300 ms`). The raw
 * value stays what is edited and sent.
 */
import { formatByteRate, formatBytes, formatMillis } from '../units';

type Unit = 'bytes' | 'bytes/s' | 'ms' | '%' | 'MB/s';

/** Units of the MigrationParameters members that have one (QAPI migration.json). */
const units: Readonly<Record<string, Unit>> = {
  'xbzrle-cache-size': 'bytes',
  'max-bandwidth': 'bytes/s',
  'max-postcopy-bandwidth': 'bytes/s',
  'avail-switchover-bandwidth': 'bytes/s',
  'downtime-limit': 'ms',
  'x-checkpoint-delay': 'ms',
  'announce-initial': 'ms',
  'announce-max': 'ms',
  'announce-step': 'ms',
  'x-vcpu-dirty-limit-period': 'ms',
  'vcpu-dirty-limit': 'MB/s',
  'throttle-trigger-threshold': '%',
  'cpu-throttle-initial': '%',
  'cpu-throttle-increment': '%',
  'max-cpu-throttle': '%',
};

export function parameterText(name: string, value: unknown): string {
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (typeof value === 'string') return value === '' ? '(empty)' : value;
  if (typeof value !== 'number' || !Number.isFinite(value)) return JSON.stringify(value) ?? String(value);
  switch (units[name]) {
    case 'bytes': return formatBytes(value);
    case 'bytes/s':
      // 0 is no cap for postcopy, and "use the estimate" for the switchover bandwidth.
      if (value === 0 && name === 'max-postcopy-bandwidth') return '0 (no limit)';
      if (value === 0 && name === 'avail-switchover-bandwidth') return '0 (estimated by QEMU)';
      return formatByteRate(value);
    case 'ms': return formatMillis(value);
    case '%': return `${value} %`;
    case 'MB/s': return `${value} MB/s`;
    default: return String(value);
  }
}

/** The raw value as QMP has it (what the edit box starts from). */
export function parameterRaw(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
}
