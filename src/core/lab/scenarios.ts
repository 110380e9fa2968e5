import type { LabScenario } from './types';

const MiB = 1024 * 1024;

/** Everything that makes one scenario what it is; options may override parts of it. */
export interface ScenarioPlan {
  name: LabScenario;
  description: string;
  /** Migration capabilities, set on both sides (`events` makes QEMU send MIGRATION and MIGRATION_PASS events into qmp.jsonl). */
  capabilities: Record<string, boolean>;
  /** Migration parameters, set on both sides. */
  parameters: Record<string, unknown>;
  /** `-trace enable=` patterns, in order (a leading `-` disables what earlier patterns enabled). */
  traceEvents: string[];
  /** Switch to postcopy with migrate-start-postcopy while precopy runs. */
  postcopy: boolean;
  /** Each QEMU gets a DPDK testpmd vhost-user back-end and shared (memfd) guest RAM. */
  vhostUser: boolean;
  /** Guest dirtying defaults. */
  dirtyRateMiBps: number;
  dirtyRegionMiB: number;
}

/**
 * Events that fire on every turn of the migration thread's rate-limit loop: while postcopy waits
 * on max-postcopy-bandwidth they produce tens of megabytes per second and say nothing new.
 */
const rateLimitLoopNoise = ['-migrate_pending', '-savevm_state_iterate', '-migration_rate_limit_pre', '-migration_rate_limit_post'];

const commonTraces = ['migration_*', 'migrate_*', 'savevm_*', 'loadvm_*'];

/*
 * Sizing (with the default 256 MiB guest; measured on QEMU 7.2, 2 cores):
 * - precopy-multifd: the guest keeps 48 MiB of non-zero pages and rewrites them at 16 MiB/s;
 *   max-bandwidth 32 MiB/s makes each pass take long enough for the next one to find new dirty
 *   pages, so migration needs several bitmap syncs (about 7) and completes in ~2 s.
 * - postcopy: the guest rewrites a 12 MiB working set every 0.375 s, faster than a 16 MiB/s pass
 *   can send it, so precopy never converges and every page is dirty at the switch. The
 *   postcopy-phase cap (8 MiB/s) keeps the background transfer slower than the guest's writes,
 *   so the destination really faults (postcopy_ram_fault_thread_request) instead of receiving
 *   everything before the vCPU touches it. Only ~3k pages cross in postcopy: traces stay small.
 */
const plans: Record<LabScenario, ScenarioPlan> = {
  'precopy-multifd': {
    name: 'precopy-multifd',
    description: 'precopy over 4 multifd channels, bandwidth-capped so it takes several dirty-bitmap passes',
    capabilities: { events: true, multifd: true },
    parameters: { 'multifd-channels': 4, 'max-bandwidth': 32 * MiB },
    traceEvents: ['multifd_*', ...commonTraces, ...rateLimitLoopNoise],
    postcopy: false,
    vhostUser: false,
    dirtyRateMiBps: 16,
    dirtyRegionMiB: 64,
  },
  postcopy: {
    name: 'postcopy',
    description: 'precopy switched to postcopy (migrate-start-postcopy) with blocktime accounting; the destination faults pages in',
    capabilities: { events: true, 'postcopy-ram': true, 'postcopy-blocktime': true },
    parameters: { 'max-bandwidth': 16 * MiB, 'max-postcopy-bandwidth': 8 * MiB },
    traceEvents: ['postcopy_*', ...commonTraces, ...rateLimitLoopNoise],
    postcopy: true,
    vhostUser: false,
    dirtyRateMiBps: 32,
    dirtyRegionMiB: 16,
  },
  'postcopy-vhost-user': {
    name: 'postcopy-vhost-user',
    description: 'postcopy with a DPDK testpmd vhost-user back-end on each side (memfd shared RAM, POSTCOPY_ADVISE/LISTEN/END)',
    capabilities: { events: true, 'postcopy-ram': true, 'postcopy-blocktime': true },
    parameters: { 'max-bandwidth': 16 * MiB, 'max-postcopy-bandwidth': 8 * MiB },
    traceEvents: ['postcopy_*', 'vhost_user_*', ...commonTraces, ...rateLimitLoopNoise],
    postcopy: true,
    vhostUser: true,
    dirtyRateMiBps: 32,
    dirtyRegionMiB: 16,
  },
};

export const labScenarios: { name: LabScenario; description: string }[] = Object.values(plans).map((p) => ({
  name: p.name,
  description: p.description,
}));

export function isLabScenario(name: string): name is LabScenario {
  return Object.prototype.hasOwnProperty.call(plans, name);
}

/** A copy of the scenario's plan (callers may change it). */
export function scenarioPlan(name: LabScenario): ScenarioPlan {
  const p = plans[name];
  return {
    ...p,
    capabilities: { ...p.capabilities },
    parameters: { ...p.parameters },
    traceEvents: [...p.traceEvents],
  };
}
