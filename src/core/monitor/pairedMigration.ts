import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QmpExecuteOptions } from '../qmp/client';
import type { MigrationInfo } from '../qmp/migration';
import { checkPair, checkZeroPageDetection, type MonitorWarning, type SideConfig } from './checks';
import type { MonitorFeatures } from './features';

/** One side of a pair: a MigrationMonitor satisfies it. */
export interface PairEndpoint {
  readonly features: MonitorFeatures;
  execute<T = unknown>(command: string, args?: Record<string, unknown>, opts?: QmpExecuteOptions): Promise<T>;
}

export interface PairRequest {
  capabilities?: Record<string, boolean>;
  parameters?: Record<string, unknown>;
  /** Migration URI; default a fresh unix socket in a private temporary folder. */
  uri?: string;
  /** Switch to postcopy this long after `migrate` (needs postcopy-ram on both). */
  postcopyAfterMs?: number;
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

export class PairError extends Error {
  override readonly name = 'PairError';
  constructor(message: string, readonly warnings: MonitorWarning[] = []) {
    super(message);
  }
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

async function sideConfig(e: PairEndpoint): Promise<SideConfig> {
  const caps = await e.execute<Array<{ capability: string; state: boolean }>>('query-migrate-capabilities');
  const parameters = await e.execute<Record<string, unknown>>('query-migrate-parameters');
  return { capabilities: Object.fromEntries(caps.map((c) => [c.capability, c.state])), parameters };
}

const endStatuses = new Set(['completed', 'failed', 'cancelled']);

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * The paired migration: the same capabilities and parameters on both sides, checks of the
 * pair, `migrate-incoming` on the destination, `migrate` on the source, progress until the
 * source reaches completed, failed or cancelled. Aborting cancels the migration on the source.
 */
export async function runPairedMigration(src: PairEndpoint, dst: PairEndpoint, req: PairRequest, hooks: PairHooks = {}): Promise<PairResult> {
  const plan = planPair(src.features, dst.features, req);
  let tmp: string | undefined;
  try {
    if (Object.keys(plan.capabilities).length > 0) {
      hooks.onStep?.('setting capabilities on both sides');
      const capabilities = Object.entries(plan.capabilities).map(([capability, state]) => ({ capability, state }));
      await Promise.all([src, dst].map((e) => e.execute('migrate-set-capabilities', { capabilities })));
    }
    if (Object.keys(plan.parameters).length > 0) {
      hooks.onStep?.('setting parameters on both sides');
      await Promise.all([src, dst].map((e) => e.execute('migrate-set-parameters', plan.parameters)));
    }
    const [s, d] = await Promise.all([sideConfig(src), sideConfig(dst)]);
    const warnings = [...checkPair(s, d), ...checkZeroPageDetection(s), ...checkZeroPageDetection(d)];
    hooks.onWarnings?.(warnings);
    const errors = warnings.filter((w) => w.severity === 'error');
    if (errors.length > 0 && req.force !== true) throw new PairError(`not starting: ${errors.map((w) => w.message).join('; ')}`, warnings);

    let uri = req.uri;
    if (uri === undefined) {
      tmp = await mkdtemp(join(tmpdir(), 'qmig-pair-'));
      uri = `unix:${join(tmp, 'migration.sock')}`;
    }
    hooks.onStep?.(`migrate-incoming ${uri} on the destination`);
    await dst.execute('migrate-incoming', { uri });
    hooks.onStep?.(`migrate ${uri} on the source`);
    await src.execute('migrate', { uri });

    const started = Date.now();
    let postcopySent = false;
    let info: MigrationInfo = {};
    for (;;) {
      if (hooks.signal?.aborted) {
        hooks.onStep?.('cancelling the migration on the source');
        await src.execute('migrate_cancel').catch(() => undefined);
        info = await waitEnd(src, 10_000, req.pollMs ?? 100);
        break;
      }
      info = await src.execute<MigrationInfo>('query-migrate');
      hooks.onProgress?.(info);
      const status = info.status ?? 'none';
      if (endStatuses.has(status)) break;
      const elapsed = Date.now() - started;
      if (req.postcopyAfterMs !== undefined && !postcopySent && status === 'active' && elapsed >= req.postcopyAfterMs) {
        postcopySent = true;
        hooks.onStep?.('migrate-start-postcopy');
        await src.execute('migrate-start-postcopy');
      }
      if (req.timeoutMs && elapsed > req.timeoutMs) {
        await src.execute('migrate_cancel').catch(() => undefined);
        throw new PairError(`migration still '${status}' after ${req.timeoutMs} ms; cancelled it`, warnings);
      }
      await delay(req.pollMs ?? 100);
    }
    const destination = await dst.execute<MigrationInfo>('query-migrate').catch(() => undefined);
    return { status: info.status ?? 'none', uri, source: info, destination, warnings };
  } finally {
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  }
}

async function waitEnd(src: PairEndpoint, timeoutMs: number, pollMs: number): Promise<MigrationInfo> {
  const end = Date.now() + timeoutMs;
  let info: MigrationInfo = {};
  while (Date.now() < end) {
    info = await src.execute<MigrationInfo>('query-migrate');
    if (endStatuses.has(info.status ?? 'none')) break;
    await delay(pollMs);
  }
  return info;
}
