import type { MigrationInfo } from '../qmp/replies';
import type { ConfiguredQemu, QemuInstall } from '../qemu/installs';
import type { LabCprRecord } from './record';

export type LabScenario = 'precopy-multifd' | 'postcopy' | 'postcopy-vhost-user' | 'postcopy-vhost-user-bridge' | 'precopy-vhost-user-bridge' | 'cpr-reboot' | 'cpr-transfer' | 'cross-version';

export interface LabOptions {
  scenario: LabScenario;
  /** Where the recording is written; created when missing, files of an earlier run are overwritten. */
  outDir: string;
  /**
   * The QEMU of both sides: a version among the installs (`7.2`, `10.0`), a path, a name on PATH,
   * or an install already resolved (src/core/qemu/installs.ts). Default `qemu-system-x86_64`;
   * `cross-version` defaults to the oldest install.
   */
  qemu?: string | QemuInstall;
  /** The destination's QEMU when it differs from the source's; `cross-version` defaults to the newest install. */
  dstQemu?: string | QemuInstall;
  /** QEMUs named in settings, considered when a version is asked for. */
  configuredQemus?: readonly ConfiguredQemu[];
  /** Where setup unpacked QEMUs (default QMW_CACHE or ~/.cache/qemu-migration-workbench). */
  cacheDir?: string;
  /** Default `dpdk-testpmd`; only used by scenarios with a vhost-user back-end. */
  testpmdBinary?: string;
  /**
   * tests/vhost-user-bridge of the bridge scenarios; default the one in qemuBuildDirs, else the one
   * scripts/setup.sh built into the cache (src/core/qemu/bridge.ts).
   */
  bridgeBinary?: string;
  /** QEMU build folders searched for tests/vhost-user-bridge (the `QEMUMigration.QEMUBuildFolder` setting). */
  qemuBuildDirs?: readonly string[];
  /** Each QEMU gets a second QMP monitor for someone else to watch it (hooks.monitor names it). */
  monitorSockets?: boolean;
  /** Default `nasm`; assembles the lab guest. */
  nasmBinary?: string;
  /** Guest RAM of each QEMU. Default 256. */
  memoryMiB?: number;
  /** MiB per second of pages the guest writes (see guest/dirty.asm). Default per scenario. */
  dirtyRateMiBps?: number;
  /** Share of the guest's region that stays all-zero, 0..15/16 (rounded to sixteenths). Default 0.25. */
  zeroShare?: number;
  /** Size of the region the guest writes, MiB. Default per scenario. */
  dirtyRegionMiB?: number;
  /** Postcopy scenarios: time from `migrate` to `migrate-start-postcopy`. Default 1500. */
  postcopyAfterMs?: number;
  /** Overrides of the scenario's migration capabilities (set on both sides). */
  capabilities?: Record<string, boolean>;
  /** Overrides of the scenario's migration parameters (set on both sides). */
  parameters?: Record<string, unknown>;
  /** Trace patterns (`-trace enable=P` each; a leading `-` disables). Default per scenario. */
  traceEvents?: string[];
  /** Accelerators in order of preference, one `-accel` each. Default kvm, then tcg. */
  accelerators?: string[];
  /** Limit for the whole run. Default 120 000 ms. */
  timeoutMs?: number;
}

export interface LabHooks {
  /** Aborting ends every process and removes the temporary directory; runLab then rejects. */
  signal?: AbortSignal;
  /** Detail lines (commands run, process output on failure). */
  log?: (line: string) => void;
  /** One short line per step. */
  progress?: (step: string) => void;
  /** Each line a process writes, as it comes (QEMU's stderr, a bridge's output), with who wrote it. */
  output?: (source: LabOutputSource, line: string) => void;
  /** With monitorSockets: a side's QEMU answers QMP, and its second monitor is free at `socket`. */
  monitor?: (side: 'src' | 'dst', socket: string) => void;
  /**
   * Called once the migration completed and its final figures are written, before the processes
   * are ended: the run holds until the promise settles (a task that keeps its QEMUs for a look).
   */
  beforeTeardown?: (files: Partial<LabFiles>) => Promise<void>;
}

/** Who wrote a line of output. */
export type LabOutputSource = `${'src' | 'dst'}-${'qemu' | 'bridge' | 'testpmd'}`;

export type LabStatus = 'completed' | 'failed' | 'aborted';

/** Files of one recording, absolute paths; only files that were written are present. */
export interface LabFiles {
  scenario: string;
  qmpTranscript: string;
  srcTrace: string;
  dstTrace: string;
  srcGuestLog?: string;
  dstGuestLog?: string;
  finalQueryMigrateSrc?: string;
  finalQueryMigrateDst?: string;
  srcTestpmdLog?: string;
  dstTestpmdLog?: string;
  /** tests/vhost-user-bridge output (stdout and stderr), one per side. */
  srcBridgeLog?: string;
  dstBridgeLog?: string;
  /** QEMU's own stderr (error reports), one per side. */
  srcQemuStderr?: string;
  dstQemuStderr?: string;
}

export interface LabResult {
  outDir: string;
  scenario: LabScenario;
  status: LabStatus;
  durationMs: number;
  files: LabFiles;
  finalQueryMigrate: { src?: MigrationInfo; dst?: MigrationInfo };
  /** The QEMU version of each side, as its QMP greeting stated it. */
  qemuVersions: { src?: string; dst?: string };
  /** What a CPR scenario measured. */
  cpr?: LabCprRecord;
  /** Set when status is not `completed`. */
  error?: string;
}
