/**
 * Checks that catch migration set-ups which fail late or silently. Pure functions over
 * query results, so the sidebar, the paired migration and the CLI share them.
 */

export interface MonitorWarning {
  /** Stable identifier, e.g. `zero-page-detection-multifd`. */
  id: string;
  /** info: worth knowing, nothing goes wrong (e.g. a default that does nothing here). */
  severity: 'info' | 'warning' | 'error';
  message: string;
}

/** Capabilities and parameters of one side, as `query-migrate-capabilities` / `-parameters` return them. */
export interface SideConfig {
  capabilities: Readonly<Record<string, boolean>>;
  parameters: Readonly<Record<string, unknown>>;
}

export function checkZeroPageDetection(cfg: SideConfig): MonitorWarning[] {
  if (cfg.parameters['zero-page-detection'] !== 'multifd' || cfg.capabilities['multifd'] === true) return [];
  return [
    {
      id: 'zero-page-detection-multifd',
      // QEMU's default since 9.0: without multifd it changes nothing, so a note, not a warning.
      severity: 'info',
      message:
        "zero-page-detection is 'multifd' (QEMU's default) but the multifd capability is off: zero pages are found in the migration thread, as before 9.0",
    },
  ];
}

function onOff(v: boolean | undefined): string {
  return v === true ? 'on' : 'off';
}

/** Differences between a source and a destination that make the migration fail or behave differently. */
export function checkPair(src: SideConfig, dst: SideConfig): MonitorWarning[] {
  const out: MonitorWarning[] = [];
  for (const cap of ['postcopy-ram', 'multifd', 'compress', 'x-ignore-shared']) {
    const s = src.capabilities[cap];
    const d = dst.capabilities[cap];
    if (s === undefined && d === undefined) continue;
    if ((s === true) !== (d === true)) {
      out.push({
        id: `pair-capability-${cap}`,
        severity: cap === 'x-ignore-shared' ? 'warning' : 'error',
        message: `capability ${cap} is ${onOff(s)} on the source but ${onOff(d)} on the destination`,
      });
    }
  }
  const multifd = src.capabilities['multifd'] === true && dst.capabilities['multifd'] === true;
  const compared = multifd ? ['multifd-channels', 'multifd-compression', 'mode'] : ['mode'];
  for (const p of compared) {
    const s = src.parameters[p];
    const d = dst.parameters[p];
    if (s === undefined || d === undefined || s === d) continue;
    out.push({
      id: `pair-parameter-${p}`,
      severity: 'error',
      message: `parameter ${p} is ${JSON.stringify(s)} on the source but ${JSON.stringify(d)} on the destination`,
    });
  }
  return out;
}

/** A memory backend as `query-memdev` reports it, with its QOM type where known (`memory-backend-file`). */
export interface MemdevInfo {
  id?: string;
  share: boolean;
  /** From `qom-list /objects` (`child<memory-backend-file>` → `memory-backend-file`). */
  backend?: string;
}

/** What the machine says about itself (`qom-get /machine`), where the QEMU has the property. */
export interface MachineInfo {
  /** `aux-ram-share` (10.0+): implicit RAM blocks (ROMs, VGA, pc.ram without a backend) in shared memfds. */
  auxRamShare?: boolean;
}

/**
 * What a CPR mode needs (docs/devel/migration/CPR.rst and QEMU 10.0's migration code):
 * - cpr-reboot keeps guest RAM in place only when it lives in a shared named file
 *   (`memory-backend-file,share=on`) and `x-ignore-shared` is on; otherwise every page of RAM is
 *   written into the state file (it still works, slowly). A memfd does not count: QEMU 10.0 skips
 *   only shared RAM blocks backed by a named file, and a memfd ends with the process anyway.
 * - cpr-transfer hands RAM over as file descriptors: every memory backend needs share=on (QEMU
 *   lists the default guest RAM as backend `pc.ram`, share=false) and the machine
 *   `aux-ram-share=on`, or QEMU blocks the migration.
 * - neither may be combined with postcopy; cpr-exec (newer QEMUs) needs `cpr-exec-command`.
 * `memdevs` or `machine` undefined: not known, no claim.
 */
export function checkCprMode(mode: string, cfg: SideConfig, memdevs: readonly MemdevInfo[] | undefined, machine: MachineInfo = {}): MonitorWarning[] {
  if (!mode.startsWith('cpr-')) return [];
  const out: MonitorWarning[] = [];
  if (cfg.capabilities['postcopy-ram'] === true) {
    out.push({ id: 'cpr-postcopy', severity: 'error', message: `mode ${mode} may not be used with postcopy: turn the postcopy-ram capability off` });
  }
  if (mode === 'cpr-reboot') {
    const inPlace = memdevs?.some((m) => m.share && (m.backend === undefined || m.backend === 'memory-backend-file'));
    if (memdevs !== undefined && !inPlace) {
      out.push({
        id: 'cpr-reboot-copies-ram',
        severity: 'warning',
        message: 'mode cpr-reboot keeps guest RAM in place only in a shared file (-object memory-backend-file,share=on with x-ignore-shared); this QEMU has none, so all of guest RAM is written into the state file',
      });
    } else if (inPlace && cfg.capabilities['x-ignore-shared'] !== true) {
      out.push({ id: 'cpr-reboot-ignore-shared', severity: 'warning', message: 'mode cpr-reboot without the x-ignore-shared capability copies all of shared RAM into the stream' });
    }
  }
  if (mode === 'cpr-transfer') {
    const unshared = (memdevs ?? []).filter((m) => !m.share);
    if (unshared.length > 0) {
      out.push({
        id: 'cpr-shared-memory',
        severity: 'error',
        message:
          `mode cpr-transfer passes guest RAM to the new QEMU as file descriptors: memory backend${unshared.length > 1 ? 's' : ''} ` +
          `${unshared.map((m) => m.id ?? '?').join(', ')} need${unshared.length > 1 ? '' : 's'} share=on (guest RAM from -object memory-backend-memfd,id=ID,share=on with -M memory-backend=ID); QEMU refuses to migrate otherwise`,
      });
    }
    if (machine.auxRamShare === false) {
      out.push({
        id: 'cpr-transfer-aux-ram-share',
        severity: 'error',
        message: 'mode cpr-transfer needs the machine option aux-ram-share=on (-M ...,aux-ram-share=on): without it QEMU refuses to migrate, its ROM and other implicit RAM are not shareable',
      });
    }
  }
  if (mode === 'cpr-exec') {
    const cmd = cfg.parameters['cpr-exec-command'];
    if (!Array.isArray(cmd) || cmd.length === 0) {
      out.push({ id: 'cpr-exec-command', severity: 'error', message: 'mode cpr-exec needs the cpr-exec-command parameter (the new QEMU command line)' });
    }
  }
  return out;
}

export type Role = 'source' | 'destination' | 'none';

const inProgress = new Set(['setup', 'active', 'pre-switchover', 'device', 'postcopy-active', 'postcopy-recover', 'wait-unplug']);
const brokenRunStates = new Set(['io-error', 'internal-error', 'guest-panicked', 'shutdown', 'watchdog']);

/** The guest is paused (or broken) where a migration developer expects it to run. */
export function checkRunState(role: Role, runState: string, migrationStatus: string): MonitorWarning[] {
  if (brokenRunStates.has(runState)) {
    return [{ id: 'run-state-broken', severity: 'error', message: `guest is in run state '${runState}'` }];
  }
  if (runState !== 'paused') return [];
  if (role === 'source' && (migrationStatus === 'none' || inProgress.has(migrationStatus))) {
    return [{ id: 'guest-paused', severity: 'warning', message: `source guest is paused during migration status '${migrationStatus}': nothing dirties memory, and it stays paused on the destination unless resumed` }];
  }
  if (role === 'destination' && migrationStatus === 'completed') {
    return [{ id: 'guest-paused', severity: 'warning', message: "destination guest is paused after a completed migration: run 'cont' (the source was paused, or autostart is off)" }];
  }
  return [];
}

/** When this process sent a job-starting command and received its reply, and when it received the job's conclusion. */
export interface JobCommandTiming {
  command: string;
  jobId: string;
  sentAt: number;
  repliedAt: number;
  /** Time the `JOB_STATUS_CHANGE` to `concluded` (or `null`) was received, if it was. */
  concludedAt?: number;
}

/**
 * A job-starting command must reply as soon as the job is created. If its reply only arrived after
 * the job had concluded, the command ran the whole job in the monitor: the monitor was blocked.
 */
export function checkMonitorBlocked(t: JobCommandTiming): MonitorWarning[] {
  if (t.concludedAt === undefined || t.concludedAt > t.repliedAt) return [];
  const ms = Math.round(t.repliedAt - t.sentAt);
  return [
    {
      id: 'monitor-blocked',
      severity: 'warning',
      message: `${t.command} (job ${t.jobId}) replied only after its job concluded, ${ms} ms after it was sent: the monitor was blocked for the whole job`,
    },
  ];
}

/** Every single-side check for one connection. */
export function checkSide(
  role: Role,
  cfg: SideConfig,
  runState: string | undefined,
  migrationStatus: string,
  memdevs?: readonly MemdevInfo[],
  machine?: MachineInfo,
): MonitorWarning[] {
  const mode = cfg.parameters['mode'];
  return [
    ...checkZeroPageDetection(cfg),
    ...(typeof mode === 'string' ? checkCprMode(mode, cfg, memdevs, machine) : []),
    ...(runState !== undefined ? checkRunState(role, runState, migrationStatus) : []),
  ];
}
