import type { LabScenario } from './types';

const MiB = 1024 * 1024;

/**
 * How the run moves the guest: `live` runs both QEMUs at once and migrates over a unix socket;
 * `cpr-reboot` saves to a file, quits the source and starts the new QEMU from that file;
 * `cpr-transfer` hands guest RAM (a memfd) to a new QEMU over a second, cpr-type channel.
 */
export type LabFlow = 'live' | 'cpr-reboot' | 'cpr-transfer';

/**
 * Where guest RAM lives: the default anonymous memory, a shared memfd, or a shared file in a
 * tmpfs folder that outlives the QEMU using it (what cpr-reboot keeps in place).
 */
export type GuestMemory = 'private' | 'memfd' | 'file';

/** Everything that makes one scenario what it is; options may override parts of it. */
export interface ScenarioPlan {
  name: LabScenario;
  description: string;
  flow: LabFlow;
  memory: GuestMemory;
  /** `-M` value (both sides). */
  machine: string;
  /** Further `-M` properties, e.g. `aux-ram-share=on`. */
  machineProperties: string[];
  /** The two sides run different QEMUs: by default the oldest and the newest install. */
  crossVersion: boolean;
  /**
   * Parameters set on both sides only where both QEMUs have them, e.g. `zero-page-detection`
   * (9.0+); scenario.json lists those that were left out and why.
   */
  parametersIfOffered: Record<string, unknown>;
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
  /** The vhost-user back-end: DPDK testpmd (default) or QEMU's own tests/vhost-user-bridge (libvhost-user). */
  backend?: 'testpmd' | 'bridge';
  /** A QEMU version run when the options name none, if it is installed (else the default binary). */
  preferredQemu?: string;
  /**
   * The guest drives the virtio-net device (guest/dirty.asm `virtio=`): 1 through the virtio 1.0
   * interface (and the device offers only that one), 2 through the legacy one. Default none.
   */
  guestVirtio?: 1 | 2;
  /** Guest dirtying defaults. */
  dirtyRateMiBps: number;
  dirtyRegionMiB: number;
}

/**
 * Events that fire on every turn of the migration thread's rate-limit loop: while postcopy waits
 * on max-postcopy-bandwidth they produce tens of megabytes per second and say nothing new.
 */
const rateLimitLoopNoise = [
  '-migrate_pending', '-savevm_state_iterate', '-migration_rate_limit_pre', '-migration_rate_limit_post',
  // Their names in newer QEMUs (each binary gets only the names it has).
  '-migrate_pending_estimate', '-migration_transferred_bytes',
];

const commonTraces = ['migration_*', 'migrate_*', 'savevm_*', 'loadvm_*'];

type PlanDefaults = Pick<ScenarioPlan, 'flow' | 'memory' | 'machine' | 'machineProperties' | 'crossVersion' | 'parametersIfOffered'>;
/** What a plan is unless it says otherwise (plans are copied by scenarioPlan before use). */
const live: PlanDefaults = { flow: 'live', memory: 'private', machine: 'pc', machineProperties: [], crossVersion: false, parametersIfOffered: {} };

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
    ...live,
    name: 'precopy-multifd',
    description: 'precopy over 4 multifd channels, bandwidth-capped so it takes several dirty-bitmap passes; zero pages found by the multifd threads where QEMU can (9.0+)',
    capabilities: { events: true, multifd: true },
    parameters: { 'multifd-channels': 4, 'max-bandwidth': 32 * MiB },
    parametersIfOffered: { 'zero-page-detection': 'multifd' },
    traceEvents: ['multifd_*', ...commonTraces, ...rateLimitLoopNoise],
    postcopy: false,
    vhostUser: false,
    dirtyRateMiBps: 16,
    dirtyRegionMiB: 64,
  },
  postcopy: {
    ...live,
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
    ...live,
    memory: 'memfd',
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
  // QEMU's own back-end serves a device only once a driver sets DRIVER_OK, and only a virtio 1.0
  // driver: the guest brings the NIC up through the modern interface (virtio=1, disable-legacy=on).
  'postcopy-vhost-user-bridge': {
    ...live,
    memory: 'memfd',
    name: 'postcopy-vhost-user-bridge',
    description: 'postcopy with QEMU\'s own tests/vhost-user-bridge (libvhost-user) on each side and a virtio 1.0 guest driver; QEMU 10.0 when installed, else 7.2. The destination bridge dies on the postcopy memory-table acknowledgement (PANIC: VHOST_USER_ADD_MEM_REG received 0 fds) and QEMU falls back to userspace virtio',
    capabilities: { events: true, 'postcopy-ram': true, 'postcopy-blocktime': true },
    parameters: { 'max-bandwidth': 16 * MiB, 'max-postcopy-bandwidth': 8 * MiB },
    traceEvents: ['postcopy_*', 'vhost_user_*', ...commonTraces, ...rateLimitLoopNoise],
    postcopy: true,
    vhostUser: true,
    backend: 'bridge',
    preferredQemu: '10.0',
    guestVirtio: 1,
    dirtyRateMiBps: 32,
    dirtyRegionMiB: 16,
  },
  'precopy-vhost-user-bridge': {
    ...live,
    memory: 'memfd',
    name: 'precopy-vhost-user-bridge',
    description: 'precopy with QEMU\'s own tests/vhost-user-bridge (libvhost-user) on each side and a virtio 1.0 guest driver; QEMU 10.0 when installed, else 7.2. The destination bridge takes the memory table and the rings over after the switchover',
    capabilities: { events: true },
    parameters: { 'max-bandwidth': 32 * MiB },
    traceEvents: ['vhost_user_*', ...commonTraces, ...rateLimitLoopNoise],
    postcopy: false,
    vhostUser: true,
    backend: 'bridge',
    preferredQemu: '10.0',
    guestVirtio: 1,
    dirtyRateMiBps: 4,
    dirtyRegionMiB: 16,
  },
  'cpr-reboot': {
    ...live,
    flow: 'cpr-reboot',
    memory: 'file',
    name: 'cpr-reboot',
    description: 'live update on one host (8.2+): mode cpr-reboot saves to a file: URI with guest RAM left in place in a shared file (x-ignore-shared), the QEMU quits, a new one resumes from the file',
    capabilities: { events: true, 'x-ignore-shared': true },
    parameters: { mode: 'cpr-reboot' },
    traceEvents: ['cpr_*', ...commonTraces, ...rateLimitLoopNoise],
    postcopy: false,
    vhostUser: false,
    dirtyRateMiBps: 16,
    dirtyRegionMiB: 16,
  },
  'cpr-transfer': {
    ...live,
    flow: 'cpr-transfer',
    memory: 'memfd',
    machineProperties: ['aux-ram-share=on'],
    name: 'cpr-transfer',
    description: 'live update on one host (10.0+): mode cpr-transfer passes the guest-RAM memfd to a new QEMU over a second, cpr-type unix channel; only device state crosses the main channel',
    capabilities: { events: true },
    parameters: { mode: 'cpr-transfer' },
    traceEvents: ['cpr_*', ...commonTraces, ...rateLimitLoopNoise],
    postcopy: false,
    vhostUser: false,
    dirtyRateMiBps: 16,
    dirtyRegionMiB: 16,
  },
  'cross-version': {
    ...live,
    crossVersion: true,
    // A machine type both QEMUs know, so the newer one keeps the older one's migration format.
    machine: 'pc-i440fx-7.2',
    name: 'cross-version',
    description: 'precopy over 4 multifd channels from the oldest installed QEMU to the newest (7.2 → 10.0) on machine type pc-i440fx-7.2',
    capabilities: { events: true, multifd: true },
    parameters: { 'multifd-channels': 4, 'max-bandwidth': 32 * MiB },
    traceEvents: ['multifd_*', ...commonTraces, ...rateLimitLoopNoise],
    postcopy: false,
    vhostUser: false,
    dirtyRateMiBps: 16,
    dirtyRegionMiB: 64,
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
    parametersIfOffered: { ...p.parametersIfOffered },
    machineProperties: [...p.machineProperties],
    traceEvents: [...p.traceEvents],
  };
}
