import type { QmpClient } from './client';
import { QmpTimeoutError, abortError } from './errors';

/** `MigrationStatus`; open-ended because newer QEMUs add states. */
export type MigrationStatus =
  | 'none'
  | 'setup'
  | 'cancelling'
  | 'cancelled'
  | 'active'
  | 'postcopy-active'
  | 'postcopy-paused'
  | 'postcopy-recover-setup'
  | 'postcopy-recover'
  | 'completed'
  | 'failed'
  | 'colo'
  | 'pre-switchover'
  | 'device'
  | 'wait-unplug'
  | (string & {});

/** `MigrationStats` (RAM). Members appear depending on QEMU version and migration state. */
export interface MigrationRamStats {
  transferred: number;
  remaining: number;
  total: number;
  duplicate: number;
  /** Removed in QEMU 9.1. */
  skipped?: number;
  normal: number;
  'normal-bytes': number;
  'dirty-pages-rate': number;
  mbps: number;
  'dirty-sync-count': number;
  'postcopy-requests': number;
  'page-size': number;
  'multifd-bytes'?: number;
  'pages-per-second'?: number;
  'precopy-bytes'?: number;
  'downtime-bytes'?: number;
  'postcopy-bytes'?: number;
  'dirty-sync-missed-zero-copy'?: number;
  [member: string]: number | undefined;
}

/** `query-migrate` reply. */
export interface MigrationInfo {
  status?: MigrationStatus;
  ram?: MigrationRamStats;
  disk?: MigrationRamStats;
  vfio?: { transferred: number };
  'xbzrle-cache'?: {
    'cache-size': number;
    bytes: number;
    pages: number;
    'cache-miss': number;
    'cache-miss-rate': number;
    'encoding-rate'?: number;
    overflow: number;
  };
  compression?: Record<string, number>;
  'total-time'?: number;
  'expected-downtime'?: number;
  downtime?: number;
  'setup-time'?: number;
  'cpu-throttle-percentage'?: number;
  'error-desc'?: string;
  'blocked-reasons'?: string[];
  'postcopy-blocktime'?: number;
  'postcopy-vcpu-blocktime'?: number[];
  'postcopy-latency'?: number;
  'postcopy-latency-dist'?: number[];
  'postcopy-vcpu-latency'?: number[];
  'postcopy-non-vcpu-latency'?: number;
  'socket-address'?: Array<Record<string, unknown>>;
  'dirty-limit-throttle-time-per-round'?: number;
  'dirty-limit-ring-full-time'?: number;
  [member: string]: unknown;
}

/** `query-status` reply. */
export interface VmStatus {
  running: boolean;
  /** `RunState`: running, paused, inmigrate, postmigrate, prelaunch, finish-migrate, ... */
  status: string;
  singlestep?: boolean;
}

export interface MigrateOptions {
  /** Resume a paused postcopy migration (use migrateRecover on the destination first). */
  resume?: boolean;
  /** Further `migrate` arguments of newer QEMUs, e.g. `channels`. */
  extra?: Record<string, unknown>;
}

export interface WaitForStatusOptions {
  /** Default 60 000 ms; 0 waits forever. */
  timeoutMs?: number;
  /** Interval between `query-migrate` polls. Default 100 ms. */
  pollMs?: number;
  signal?: AbortSignal;
  /** Statuses that end the wait with an error. `failed` always does. Default also `cancelled`. */
  failOn?: string[];
}

export class MigrationFailedError extends Error {
  override readonly name = 'MigrationFailedError';
  constructor(readonly status: string, readonly errorDesc: string | undefined, readonly info: MigrationInfo) {
    super(`migration ${status}${errorDesc ? `: ${errorDesc}` : ''}`);
  }
}

export function queryMigrate(c: QmpClient): Promise<MigrationInfo> {
  return c.execute<MigrationInfo>('query-migrate');
}

export function setCapabilities(c: QmpClient, caps: Record<string, boolean>): Promise<void> {
  const capabilities = Object.entries(caps).map(([capability, state]) => ({ capability, state }));
  return c.execute<void>('migrate-set-capabilities', { capabilities }).then(() => undefined);
}

/** `query-migrate-capabilities` as a name → state map. */
export async function queryCapabilities(c: QmpClient): Promise<Record<string, boolean>> {
  const list = await c.execute<Array<{ capability: string; state: boolean }>>('query-migrate-capabilities');
  return Object.fromEntries(list.map((e) => [e.capability, e.state]));
}

export function setParameters(c: QmpClient, params: Record<string, unknown>): Promise<void> {
  return c.execute<void>('migrate-set-parameters', params).then(() => undefined);
}

export function queryParameters(c: QmpClient): Promise<Record<string, unknown>> {
  return c.execute<Record<string, unknown>>('query-migrate-parameters');
}

export function migrate(c: QmpClient, uri: string, opts: MigrateOptions = {}): Promise<void> {
  const args: Record<string, unknown> = { uri, ...opts.extra };
  if (opts.resume !== undefined) args['resume'] = opts.resume;
  return c.execute<void>('migrate', args).then(() => undefined);
}

export function migrateIncoming(c: QmpClient, uri: string, extra: Record<string, unknown> = {}): Promise<void> {
  return c.execute<void>('migrate-incoming', { uri, ...extra }).then(() => undefined);
}

export function startPostcopy(c: QmpClient): Promise<void> {
  return c.execute<void>('migrate-start-postcopy').then(() => undefined);
}

export function migrateCancel(c: QmpClient): Promise<void> {
  return c.execute<void>('migrate_cancel').then(() => undefined);
}

/** Pauses a postcopy migration; out-of-band when the connection allows, since the main loop may be stuck. */
export function migratePause(c: QmpClient): Promise<void> {
  return c.execute<void>('migrate-pause', undefined, { oob: c.oobEnabled }).then(() => undefined);
}

/** Gives the destination a new incoming URI to recover a paused postcopy migration (out-of-band when possible). */
export function migrateRecover(c: QmpClient, uri: string): Promise<void> {
  return c.execute<void>('migrate-recover', { uri }, { oob: c.oobEnabled }).then(() => undefined);
}

export function queryStatus(c: QmpClient): Promise<VmStatus> {
  return c.execute<VmStatus>('query-status');
}

export function cont(c: QmpClient): Promise<void> {
  return c.execute<void>('cont').then(() => undefined);
}

export function stop(c: QmpClient): Promise<void> {
  return c.execute<void>('stop').then(() => undefined);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal, 'waiting for migration status'));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal as AbortSignal, 'waiting for migration status'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Polls `query-migrate` until the status is one of `wanted`. Rejects with MigrationFailedError
 * (carrying `error-desc`) when it becomes `failed` or one of `failOn`, unless that status is wanted.
 */
const queryGraceMs = 1000;

export async function waitForMigrationStatus(
  c: QmpClient,
  wanted: string[],
  opts: WaitForStatusOptions = {},
): Promise<MigrationInfo> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const pollMs = Math.max(1, opts.pollMs ?? 100);
  const failOn = new Set(['failed', ...(opts.failOn ?? ['cancelled'])]);
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  let last: MigrationInfo | undefined;
  for (;;) {
    if (opts.signal?.aborted) throw abortError(opts.signal, 'waiting for migration status');
    const remaining = deadline - Date.now();
    // The last poll falls on the deadline; a short grace lets it be answered.
    const execOpts = {
      ...(Number.isFinite(remaining) ? { timeoutMs: Math.max(queryGraceMs, remaining) } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    };
    last = await c.execute<MigrationInfo>('query-migrate', undefined, execOpts);
    const status = last.status ?? 'none';
    if (wanted.includes(status)) return last;
    if (failOn.has(status)) throw new MigrationFailedError(status, last['error-desc'], last);
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new QmpTimeoutError(
        `migration status is still '${status}' after ${timeoutMs} ms; waited for ${wanted.join(' or ')}`,
        timeoutMs,
      );
    }
    await sleep(Math.min(pollMs, left), opts.signal);
  }
}
