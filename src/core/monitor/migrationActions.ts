import type { QmpExecuteOptions } from '../qmp/client';
import { QmpError } from '../qmp/errors';
import type { MigrationInfo } from '../qmp/migration';
import type { QmpSchema } from '../qmp/schema';
import type { Role } from './checks';
import type { MonitorFeatures } from './features';

/**
 * The migration commands of the palette and the view's context menu, without VS Code: the
 * extension asks the user for a connection and a URI, then calls these.
 */

/** One QMP connection the actions act on: a MigrationMonitor satisfies it. */
export interface ActionEndpoint {
  readonly schema: QmpSchema;
  readonly features: MonitorFeatures;
  readonly client: { readonly oobEnabled: boolean };
  execute<T = unknown>(command: string, args?: Record<string, unknown>, opts?: QmpExecuteOptions): Promise<T>;
}

const uriSchemes = /^(tcp|unix|exec|file|rdma|fd|vsock):/;

/** The URI trimmed, or an error message naming the accepted schemes. */
export function checkMigrationUri(text: string): { ok: true; uri: string } | { ok: false; message: string } {
  const uri = text.trim();
  if (uriSchemes.test(uri)) return { ok: true, uri };
  return { ok: false, message: `Not a migration URI: ${text} (expected tcp:, unix:, exec:, file:, rdma:, fd: or vsock:)` };
}

/** `detach` is accepted (and ignored: QMP migrations always run detached) only by QEMUs whose schema lists it. */
function detachArg(e: ActionEndpoint): { detach?: boolean } {
  return e.schema.commandArgs('migrate')?.some((m) => m.name === 'detach') ? { detach: true } : {};
}

/** True when the connection negotiated `oob` and this QEMU allows the command out-of-band. */
export function sendsOob(e: ActionEndpoint, command: string): boolean {
  return e.client.oobEnabled && e.features.oobCommands.has(command);
}

export async function startMigration(e: ActionEndpoint, uri: string): Promise<void> {
  await e.execute('migrate', { uri, ...detachArg(e) });
}

export async function startIncoming(e: ActionEndpoint, uri: string): Promise<void> {
  await e.execute('migrate-incoming', { uri });
}

export async function startPostcopy(e: ActionEndpoint): Promise<void> {
  await e.execute('migrate-start-postcopy');
}

export async function cancelMigration(e: ActionEndpoint): Promise<void> {
  await e.execute('migrate_cancel');
}

/** Only the changed capabilities are sent. */
export async function setCapabilities(e: ActionEndpoint, changes: Record<string, boolean>): Promise<void> {
  const capabilities = Object.entries(changes).map(([capability, state]) => ({ capability, state }));
  if (capabilities.length > 0) await e.execute('migrate-set-capabilities', { capabilities });
}

export async function setParameters(e: ActionEndpoint, params: Record<string, unknown>): Promise<void> {
  if (Object.keys(params).length > 0) await e.execute('migrate-set-parameters', params);
}

/**
 * `migrate-pause`, out-of-band where possible: a postcopy migration whose network broke can
 * leave the main loop waiting on the migration stream, and only an out-of-band command is
 * then still executed. Returns whether it went out-of-band.
 */
export async function pauseMigration(e: ActionEndpoint): Promise<{ oob: boolean }> {
  const oob = sendsOob(e, 'migrate-pause');
  await e.execute('migrate-pause', undefined, { oob });
  return { oob };
}

/**
 * Recovery of a paused postcopy migration, one side at a time: the destination listens again
 * (`migrate-recover`, out-of-band where possible), then the source connects to that URI
 * (`migrate` with `resume`).
 */
export async function recoverMigration(e: ActionEndpoint, role: Role, uri: string): Promise<{ command: 'migrate-recover' | 'migrate'; oob: boolean }> {
  if (role === 'source') {
    await e.execute('migrate', { uri, resume: true, ...detachArg(e) });
    return { command: 'migrate', oob: false };
  }
  const oob = sendsOob(e, 'migrate-recover');
  await e.execute('migrate-recover', { uri }, { oob });
  return { command: 'migrate-recover', oob };
}

export interface WaitStatusOptions {
  timeoutMs?: number;
  pollMs?: number;
  signal?: AbortSignal;
}

/** Polls `query-migrate` until the status is one of `wanted`; rejects on failed or on the time limit. */
export async function waitForStatus(e: ActionEndpoint, wanted: readonly string[], opts: WaitStatusOptions = {}): Promise<MigrationInfo> {
  const end = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    const info = await e.execute<MigrationInfo>('query-migrate');
    const status = info.status ?? 'none';
    if (wanted.includes(status)) return info;
    if (status === 'failed') throw new Error(`migration failed while waiting for ${wanted.join(' or ')}${info['error-desc'] ? `: ${info['error-desc']}` : ''}`);
    if (opts.signal?.aborted) throw new Error(`stopped waiting for ${wanted.join(' or ')}`);
    if (Date.now() > end) throw new Error(`migration status is still '${status}'; waited ${opts.timeoutMs ?? 60_000} ms for ${wanted.join(' or ')}`);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 100));
  }
}

export interface PausePairResult {
  source: { oob: boolean };
  /**
   * How the destination got to postcopy-paused: by its own `migrate-pause`, or on its own when the
   * source's stream broke (then it was sent no pause, or QEMU refused the one it was sent).
   */
  destination: { oob: boolean; paused: 'command' | 'stream-broke'; /** QEMU's error class and text when it refused. */ refusal?: string };
}

export interface PausePairOptions extends WaitStatusOptions {
  /** How long the destination may take to pause itself after the source's pause (default 3000 ms). */
  destinationGraceMs?: number;
}

/**
 * Pauses a postcopy migration on both sides: `migrate-pause` on the source, which shuts the
 * stream, so the destination normally pauses itself. The destination is sent its own
 * `migrate-pause` only when it is still postcopy-active after a grace period (a stream that
 * breaks without the destination noticing): a QEMU 7.2 destination has dropped its monitor
 * connection when its pause arrived while the broken stream was pausing it. A refusal because
 * the destination paused meanwhile is not an error here.
 */
export async function pausePostcopyPair(src: ActionEndpoint, dst: ActionEndpoint, opts: PausePairOptions = {}): Promise<PausePairResult> {
  const source = await pauseMigration(src);
  const oob = sendsOob(dst, 'migrate-pause');
  const graceEnd = Date.now() + (opts.destinationGraceMs ?? 3000);
  let destination: PausePairResult['destination'] | undefined;
  while (destination === undefined) {
    const now = await dst.execute<MigrationInfo>('query-migrate');
    if (now.status === 'postcopy-paused') destination = { oob, paused: 'stream-broke' };
    else if (Date.now() < graceEnd) await new Promise((r) => setTimeout(r, opts.pollMs ?? 100));
    else {
      try {
        await pauseMigration(dst);
        destination = { oob, paused: 'command' };
      } catch (err) {
        if (!(err instanceof QmpError)) throw err;
        const after = await dst.execute<MigrationInfo>('query-migrate');
        if (after.status !== 'postcopy-paused') throw err;
        destination = { oob, paused: 'stream-broke', refusal: `${err.errorClass}: ${err.description}` };
      }
    }
  }
  await Promise.all([waitForStatus(src, ['postcopy-paused'], opts), waitForStatus(dst, ['postcopy-paused'], opts)]);
  return { source, destination };
}

/** Recovers a paused pair: `migrate-recover` on the destination, `migrate resume=true` on the source, both on `uri`. */
export async function recoverPostcopyPair(src: ActionEndpoint, dst: ActionEndpoint, uri: string): Promise<{ destinationOob: boolean }> {
  const d = await recoverMigration(dst, 'destination', uri);
  await recoverMigration(src, 'source', uri);
  return { destinationOob: d.oob };
}
