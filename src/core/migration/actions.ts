/**
 * Migration actions: the QMP commands that start, steer and end a migration, the one wait for a
 * migration status, and the paired migration of a source and a destination. The lab, the CLI,
 * the extension's commands, the debug adapter and the tasks all act through this module.
 *
 * The waiting rule, everywhere: a wait ends when `query-migrate` shows what it waits for.
 * `failed` and `cancelled` are final (QEMU leaves them only for a new `migrate`), so a wait that
 * does not ask for one of them ends there with a MigrationFailedError carrying QEMU's
 * `error-desc`. Every other status (`cancelling`, `postcopy-paused`, ...) is waited through until
 * the time limit, which ends the wait with a MigrationTimeoutError naming the last status.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { QmpClient, QmpExecuteOptions } from '../qmp/client';
import { QmpError, QmpTimeoutError, abortError } from '../qmp/errors';
import type { MigrationInfo, VmStatus } from '../qmp/replies';
import { QmpSchema } from '../qmp/schema';
import { checkUnixSocketPath } from '../qmp/socketPath';
import { checkPair, checkZeroPageDetection, type MonitorWarning, type Role, type SideConfig } from '../monitor/checks';
import { detectFeatures, type MonitorFeatures } from '../monitor/features';

/** One QMP connection the actions act on: a MigrationMonitor is one, endpointOf makes one of a bare client. */
export interface MigrationEndpoint {
  readonly schema: QmpSchema;
  readonly features: MonitorFeatures;
  readonly client: { readonly oobEnabled: boolean };
  execute<T = unknown>(command: string, args?: Record<string, unknown>, opts?: QmpExecuteOptions): Promise<T>;
}

/** A bare client as an endpoint; its schema is read unless given. */
export async function endpointOf(client: QmpClient, schema?: QmpSchema): Promise<MigrationEndpoint> {
  const s = schema ?? (await QmpSchema.query(client));
  return {
    schema: s,
    features: detectFeatures(s),
    client,
    execute: <T>(command: string, args?: Record<string, unknown>, opts?: QmpExecuteOptions) => client.execute<T>(command, args, opts),
  };
}

// ------------------------------------------------------------------ errors

/** The migration reached `failed` or `cancelled` while something else was waited for. */
export class MigrationFailedError extends Error {
  override readonly name = 'MigrationFailedError';
  constructor(readonly status: string, readonly errorDesc: string | undefined, readonly info: MigrationInfo, waitedFor: string) {
    super(`migration ${status}${errorDesc ? `: ${errorDesc}` : ''} (waited for ${waitedFor})`);
  }
}

/** The wait's time limit passed; `status` and `info` are the last `query-migrate` seen. */
export class MigrationTimeoutError extends QmpTimeoutError {
  constructor(readonly status: string, readonly info: MigrationInfo, timeoutMs: number, waitedFor: string) {
    super(`migration status is still '${status}' after ${timeoutMs} ms; waited for ${waitedFor}`, timeoutMs);
  }
}

/** A paired migration refused before it started (the checks, features one side lacks) or given up. */
export class PairError extends Error {
  override readonly name = 'PairError';
  constructor(message: string, readonly warnings: MonitorWarning[] = []) {
    super(message);
  }
}

// ------------------------------------------------------------------ single commands

const uriSchemes = /^(tcp|unix|exec|file|rdma|fd|vsock):/;

/** The URI trimmed, or an error message naming the accepted schemes. */
export function checkMigrationUri(text: string): { ok: true; uri: string } | { ok: false; message: string } {
  const uri = text.trim();
  if (uriSchemes.test(uri)) return { ok: true, uri };
  return { ok: false, message: `Not a migration URI: ${text} (expected tcp:, unix:, exec:, file:, rdma:, fd: or vsock:)` };
}

/** `unix:DIR/NAME`, refused (naming it) when the path is too long for a socket address. */
export function unixMigrationUri(dir: string, name = 'migration.sock'): string {
  const socket = join(dir, name);
  checkUnixSocketPath(socket, 'migration socket');
  return `unix:${socket}`;
}

export function queryMigrate(e: MigrationEndpoint, opts?: QmpExecuteOptions): Promise<MigrationInfo> {
  return e.execute<MigrationInfo>('query-migrate', undefined, opts);
}

export function queryStatus(e: MigrationEndpoint): Promise<VmStatus> {
  return e.execute<VmStatus>('query-status');
}

/** Capabilities (as a name → state map) and parameters of one side. */
export async function readSideConfig(e: MigrationEndpoint): Promise<SideConfig> {
  const caps = await e.execute<Array<{ capability: string; state: boolean }>>('query-migrate-capabilities');
  const parameters = await e.execute<Record<string, unknown>>('query-migrate-parameters');
  return { capabilities: Object.fromEntries(caps.map((c) => [c.capability, c.state])), parameters };
}

/** Only the capabilities given are sent; nothing when there are none. */
export async function setCapabilities(e: MigrationEndpoint, changes: Readonly<Record<string, boolean>>): Promise<void> {
  const capabilities = Object.entries(changes).map(([capability, state]) => ({ capability, state }));
  if (capabilities.length > 0) await e.execute('migrate-set-capabilities', { capabilities });
}

export async function setParameters(e: MigrationEndpoint, params: Readonly<Record<string, unknown>>): Promise<void> {
  if (Object.keys(params).length > 0) await e.execute('migrate-set-parameters', { ...params });
}

/** `detach` is accepted (and ignored: QMP migrations always run detached) only by QEMUs whose schema lists it. */
function detachArg(e: MigrationEndpoint): { detach?: boolean } {
  return e.schema.commandArgs('migrate')?.some((m) => m.name === 'detach') ? { detach: true } : {};
}

/** A migration URI, or the `channels` of newer QEMUs (cpr-transfer's main and cpr channels). */
export type MigrationTarget = string | { channels: ReadonlyArray<Record<string, unknown>> };

export async function startMigration(e: MigrationEndpoint, to: MigrationTarget): Promise<void> {
  const where = typeof to === 'string' ? { uri: to } : { channels: to.channels };
  await e.execute('migrate', { ...where, ...detachArg(e) });
}

export async function startIncoming(e: MigrationEndpoint, uri: string): Promise<void> {
  await e.execute('migrate-incoming', { uri });
}

export async function startPostcopy(e: MigrationEndpoint): Promise<void> {
  await e.execute('migrate-start-postcopy');
}

export async function cancelMigration(e: MigrationEndpoint): Promise<void> {
  await e.execute('migrate_cancel');
}

/** Lets a migration held in `state` (pause-before-switchover: `pre-switchover`) go on. */
export async function continueMigration(e: MigrationEndpoint, state = 'pre-switchover'): Promise<void> {
  await e.execute('migrate-continue', { state });
}

/** True when the connection negotiated `oob` and this QEMU allows the command out-of-band. */
export function sendsOob(e: MigrationEndpoint, command: string): boolean {
  return e.client.oobEnabled && e.features.oobCommands.has(command);
}

/**
 * `migrate-pause`, out-of-band where possible: a postcopy migration whose network broke can
 * leave the main loop waiting on the migration stream, and only an out-of-band command is
 * then still executed. Returns whether it went out-of-band.
 */
export async function pauseMigration(e: MigrationEndpoint): Promise<{ oob: boolean }> {
  const oob = sendsOob(e, 'migrate-pause');
  await e.execute('migrate-pause', undefined, { oob });
  return { oob };
}

/**
 * Recovery of a paused postcopy migration, one side at a time: the destination listens again
 * (`migrate-recover`, out-of-band where possible), then the source connects to that URI
 * (`migrate` with `resume`).
 */
export async function recoverMigration(e: MigrationEndpoint, role: Role, uri: string): Promise<{ command: 'migrate-recover' | 'migrate'; oob: boolean }> {
  if (role === 'source') {
    await e.execute('migrate', { uri, resume: true, ...detachArg(e) });
    return { command: 'migrate', oob: false };
  }
  const oob = sendsOob(e, 'migrate-recover');
  await e.execute('migrate-recover', { uri }, { oob });
  return { command: 'migrate-recover', oob };
}

// ------------------------------------------------------------------ waiting

export interface WaitOptions {
  /** Default 60 000 ms; 0 waits without a limit. */
  timeoutMs?: number;
  /** Interval between `query-migrate` polls. Default 100 ms. */
  pollMs?: number;
  signal?: AbortSignal;
  /** Sees every `query-migrate` reply, before the wait decides on it. */
  onPoll?: (info: MigrationInfo) => void | Promise<void>;
}

/** Statuses a migration leaves only for a new `migrate`: a wait for anything else ends there. */
export const finalStatuses: ReadonlySet<string> = new Set(['failed', 'cancelled']);

/** The last poll falls on the deadline; a short grace lets it be answered. */
const queryGraceMs = 1000;

async function waitUntil(e: MigrationEndpoint, done: (info: MigrationInfo) => boolean, waitedFor: string, opts: WaitOptions): Promise<MigrationInfo> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const pollMs = Math.max(1, opts.pollMs ?? 100);
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  const what = `waiting for migration status ${waitedFor}`;
  for (;;) {
    if (opts.signal?.aborted) throw abortError(opts.signal, what);
    const remaining = deadline - Date.now();
    const info = await queryMigrate(e, {
      ...(Number.isFinite(remaining) ? { timeoutMs: Math.max(queryGraceMs, remaining) } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    await opts.onPoll?.(info);
    if (done(info)) return info;
    const status = info.status ?? 'none';
    if (finalStatuses.has(status)) throw new MigrationFailedError(status, info['error-desc'], info, waitedFor);
    const left = deadline - Date.now();
    if (left <= 0) throw new MigrationTimeoutError(status, info, timeoutMs, waitedFor);
    try {
      await sleep(Math.min(pollMs, left), undefined, opts.signal ? { signal: opts.signal } : {});
    } catch (err) {
      if (opts.signal?.aborted) throw abortError(opts.signal, what);
      throw err;
    }
  }
}

/** Polls `query-migrate` until the status is one of `wanted`, under the waiting rule above. */
export function waitForStatus(e: MigrationEndpoint, wanted: readonly string[], opts: WaitOptions = {}): Promise<MigrationInfo> {
  return waitUntil(e, (info) => wanted.includes(info.status ?? 'none'), wanted.join(' or '), opts);
}

/** Precopy passes done: a pass ends at each dirty-bitmap sync after the first. */
export function precopyPasses(info: MigrationInfo): number {
  return Math.max(0, (info.ram?.['dirty-sync-count'] ?? 0) - 1);
}

/** Until `passes` precopy passes are done or the migration is no longer `active`. */
export function waitForPrecopyPasses(e: MigrationEndpoint, passes: number, opts: WaitOptions = {}): Promise<MigrationInfo> {
  return waitUntil(e, (info) => info.status !== 'active' || precopyPasses(info) >= passes, `${passes} precopy passes or the end of precopy`, opts);
}

// ------------------------------------------------------------------ both sides

export interface PausePairResult {
  source: { oob: boolean };
  /**
   * How the destination got to postcopy-paused: by its own `migrate-pause`, or on its own when the
   * source's stream broke (then it was sent no pause, or QEMU refused the one it was sent).
   */
  destination: { oob: boolean; paused: 'command' | 'stream-broke'; /** QEMU's error class and text when it refused. */ refusal?: string };
}

export interface PausePairOptions extends WaitOptions {
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
export async function pausePostcopyPair(src: MigrationEndpoint, dst: MigrationEndpoint, opts: PausePairOptions = {}): Promise<PausePairResult> {
  const source = await pauseMigration(src);
  const oob = sendsOob(dst, 'migrate-pause');
  const { destinationGraceMs = 3000, ...wait } = opts;
  let destination: PausePairResult['destination'];
  try {
    await waitForStatus(dst, ['postcopy-paused'], { ...wait, timeoutMs: Math.max(1, destinationGraceMs) });
    destination = { oob, paused: 'stream-broke' };
  } catch (err) {
    if (!(err instanceof MigrationTimeoutError)) throw err;
    try {
      await pauseMigration(dst);
      destination = { oob, paused: 'command' };
    } catch (refused) {
      if (!(refused instanceof QmpError)) throw refused;
      if ((await queryMigrate(dst)).status !== 'postcopy-paused') throw refused;
      destination = { oob, paused: 'stream-broke', refusal: `${refused.errorClass}: ${refused.description}` };
    }
  }
  await Promise.all([waitForStatus(src, ['postcopy-paused'], wait), waitForStatus(dst, ['postcopy-paused'], wait)]);
  return { source, destination };
}

/** Recovers a paused pair: `migrate-recover` on the destination, `migrate resume=true` on the source, both on `uri`. */
export async function recoverPostcopyPair(src: MigrationEndpoint, dst: MigrationEndpoint, uri: string): Promise<{ destinationOob: boolean }> {
  const d = await recoverMigration(dst, 'destination', uri);
  await recoverMigration(src, 'source', uri);
  return { destinationOob: d.oob };
}

export interface PairRequest {
  capabilities?: Record<string, boolean>;
  parameters?: Record<string, unknown>;
  /** Migration URI; default a fresh unix socket in a private temporary folder. */
  uri?: string;
  /** Switch to postcopy this long after `migrate` (needs postcopy-ram on both). */
  postcopyAfterMs?: number;
  /** Or once this many precopy passes are done. */
  postcopyAfterPasses?: number;
  /** Start even when the checks find errors. */
  force?: boolean;
  /** Default 0: no limit. */
  timeoutMs?: number;
  /** `query-migrate` interval on the source. Default 100 ms. */
  pollMs?: number;
}

export interface PairHooks {
  signal?: AbortSignal;
  onStep?: (step: string) => void;
  onProgress?: (info: MigrationInfo) => void;
  onWarnings?: (w: MonitorWarning[]) => void;
}

export interface PairResult {
  status: string;
  uri: string;
  source: MigrationInfo;
  destination: MigrationInfo | undefined;
  warnings: MonitorWarning[];
}

/** Refuses capabilities or parameters one of the two QEMUs does not know, naming which. */
export function planPair(src: MonitorFeatures, dst: MonitorFeatures, req: PairRequest): { capabilities: Record<string, boolean>; parameters: Record<string, unknown> } {
  const problems: string[] = [];
  for (const cap of Object.keys(req.capabilities ?? {})) {
    for (const [side, f] of [['source', src], ['destination', dst]] as const) {
      if (!f.capabilities.includes(cap)) problems.push(`the ${side} QEMU has no migration capability '${cap}'`);
    }
  }
  for (const p of Object.keys(req.parameters ?? {})) {
    for (const [side, f] of [['source', src], ['destination', dst]] as const) {
      if (!f.parameters.some((s) => s.name === p)) problems.push(`the ${side} QEMU has no migration parameter '${p}'`);
    }
  }
  if (!dst.commands.has('migrate-incoming')) problems.push("the destination QEMU has no 'migrate-incoming' command");
  if (problems.length > 0) throw new PairError(problems.join('; '));
  return { capabilities: { ...req.capabilities }, parameters: { ...req.parameters } };
}

/**
 * The start of a paired migration: the same capabilities and parameters on both sides, the
 * checks of the pair (errors refuse unless `force`), `migrate-incoming` on the destination and
 * `migrate` on the source, both on `uri`. It does not wait for the end. Returns the findings.
 */
export async function startPairedMigration(
  src: MigrationEndpoint, dst: MigrationEndpoint, req: PairRequest & { uri: string }, hooks: PairHooks = {},
): Promise<MonitorWarning[]> {
  const plan = planPair(src.features, dst.features, req);
  if (Object.keys(plan.capabilities).length > 0) {
    hooks.onStep?.('setting capabilities on both sides');
    await Promise.all([src, dst].map((e) => setCapabilities(e, plan.capabilities)));
  }
  if (Object.keys(plan.parameters).length > 0) {
    hooks.onStep?.('setting parameters on both sides');
    await Promise.all([src, dst].map((e) => setParameters(e, plan.parameters)));
  }
  const [s, d] = await Promise.all([readSideConfig(src), readSideConfig(dst)]);
  const warnings = [...checkPair(s, d), ...checkZeroPageDetection(s), ...checkZeroPageDetection(d)];
  hooks.onWarnings?.(warnings);
  const errors = warnings.filter((w) => w.severity === 'error');
  if (errors.length > 0 && req.force !== true) throw new PairError(`not starting: ${errors.map((w) => w.message).join('; ')}`, warnings);
  hooks.onStep?.(`migrate-incoming ${req.uri} on the destination`);
  await startIncoming(dst, req.uri);
  hooks.onStep?.(`migrate ${req.uri} on the source`);
  await startMigration(src, req.uri);
  return warnings;
}

/** How long an aborted paired migration may take to end after its `migrate_cancel`. */
const cancelGraceMs = 10_000;

/**
 * The paired migration: startPairedMigration, then progress until the source reaches
 * completed, failed or cancelled (the result's status), switching to postcopy when due.
 * Aborting cancels the migration on the source; so does the time limit, which then throws.
 */
export async function runPairedMigration(src: MigrationEndpoint, dst: MigrationEndpoint, req: PairRequest, hooks: PairHooks = {}): Promise<PairResult> {
  planPair(src.features, dst.features, req);
  let tmp: string | undefined;
  try {
    let uri = req.uri;
    if (uri === undefined) {
      tmp = await mkdtemp(join(tmpdir(), 'qmig-pair-'));
      uri = unixMigrationUri(tmp);
    }
    const warnings = await startPairedMigration(src, dst, { ...req, uri }, hooks);
    const started = Date.now();
    let postcopySent = false;
    const onPoll = async (info: MigrationInfo): Promise<void> => {
      hooks.onProgress?.(info);
      const elapsed = Date.now() - started;
      const due = (req.postcopyAfterMs !== undefined && elapsed >= req.postcopyAfterMs) || (req.postcopyAfterPasses !== undefined && precopyPasses(info) >= req.postcopyAfterPasses);
      if (due && !postcopySent && info.status === 'active') {
        postcopySent = true;
        hooks.onStep?.('migrate-start-postcopy');
        await startPostcopy(src);
      }
    };
    const poll = { pollMs: req.pollMs ?? 100 };
    let info: MigrationInfo;
    try {
      info = await waitForStatus(src, ['completed'], { ...poll, timeoutMs: req.timeoutMs ?? 0, onPoll, ...(hooks.signal ? { signal: hooks.signal } : {}) });
    } catch (err) {
      if (err instanceof MigrationFailedError) info = err.info;
      else if (err instanceof MigrationTimeoutError) {
        await cancelMigration(src).catch(() => undefined);
        throw new PairError(`migration still '${err.status}' after ${req.timeoutMs} ms; cancelled it`, warnings);
      } else if (hooks.signal?.aborted) {
        hooks.onStep?.('cancelling the migration on the source');
        await cancelMigration(src).catch(() => undefined);
        info = await waitForStatus(src, ['completed', ...finalStatuses], { ...poll, timeoutMs: cancelGraceMs }).catch((e: unknown) => {
          if (e instanceof MigrationTimeoutError) return e.info;
          throw e;
        });
      } else throw err;
    }
    const destination = await queryMigrate(dst).catch(() => undefined);
    return { status: info.status ?? 'none', uri, source: info, destination, warnings };
  } finally {
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  }
}
