import type { MigrationInfo } from '../qmp/migration';

export type LabScenario = 'precopy-multifd' | 'postcopy' | 'postcopy-vhost-user';

export interface LabOptions {
  scenario: LabScenario;
  /** Where the recording is written; created when missing, files of an earlier run are overwritten. */
  outDir: string;
  /** Default `qemu-system-x86_64` (looked up on PATH). */
  qemuBinary?: string;
  /** Default `dpdk-testpmd`; only used by scenarios with a vhost-user back-end. */
  testpmdBinary?: string;
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
}

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
}

export interface LabResult {
  outDir: string;
  scenario: LabScenario;
  status: LabStatus;
  durationMs: number;
  files: LabFiles;
  finalQueryMigrate: { src?: MigrationInfo; dst?: MigrationInfo };
  /** Set when status is not `completed`. */
  error?: string;
}
