import type { MigrationInfo } from '../qmp/replies';
import type { LabSide } from './errors';
import type { LabFiles, LabStatus } from './types';

/** File names inside the output directory. */
export const labFileNames = {
  scenario: 'scenario.json',
  qmpTranscript: 'qmp.jsonl',
  srcTrace: 'src-trace.log',
  dstTrace: 'dst-trace.log',
  srcGuestLog: 'src-guest.log',
  dstGuestLog: 'dst-guest.log',
  finalQueryMigrateSrc: 'final-query-migrate-src.json',
  finalQueryMigrateDst: 'final-query-migrate-dst.json',
  srcTestpmdLog: 'src-testpmd.log',
  dstTestpmdLog: 'dst-testpmd.log',
  srcBridgeLog: 'src-bridge.log',
  dstBridgeLog: 'dst-bridge.log',
  srcQemuStderr: 'src-qemu-stderr.log',
  dstQemuStderr: 'dst-qemu-stderr.log',
} as const satisfies Record<keyof LabFiles, string>;

/** `<scenario>-YYYYMMDD-HHMMSS` in UTC: a recording folder's name, sorting by time. */
export function recordingFolderName(scenario: string, now: Date): string {
  const stamp = now.toISOString().replace(/\.\d+Z$/, '').replace(/[-:]/g, '').replace('T', '-');
  return `${scenario}-${stamp}`;
}

/** One process of the run as scenario.json lists it. */
export interface LabProcessRecord {
  role: string;
  argv: string[];
  pid?: number;
  /** How it ended (filled in at teardown). */
  exit?: string;
}

/** One side's QEMU as scenario.json lists it. */
export interface LabQemuRecord {
  binary?: string;
  /** `-L` folder, for a QEMU outside the system's prefix. */
  firmwareDir?: string;
  version?: string;
  package?: string;
  accelerator?: string;
  machine: string;
  /** The `-trace enable=` patterns this side was given (the scenario's plus the downtime events it has). */
  traceEvents: string[];
}

/** What a CPR scenario measured. */
export interface LabCprRecord {
  mode: 'cpr-reboot' | 'cpr-transfer';
  /** cpr-reboot: size of the saved state file (guest RAM stays in its shared file). */
  stateFileBytes?: number;
  guestRamBytes: number;
  /** cpr-reboot: the old QEMU's run state once saved (`postmigrate`). */
  sourceRunState?: string;
  /** From `migrate` on the old QEMU until the new one runs the guest. */
  pauseMs: number;
  /** The guest's last `sweep N` on the old QEMU and the first it printed on the new one. */
  lastSourceSweep: number;
  firstDestinationSweep: number;
}

/** The content of scenario.json. */
export interface ScenarioRecord {
  tool: string;
  workbenchVersion: string;
  scenario: string;
  description: string;
  status: LabStatus;
  error?: string;
  failedStep?: string;
  failedSide?: LabSide;
  startTime: string;
  endTime?: string;
  durationMs?: number;
  host: { platform: string; kernel: string; cpus: number };
  /** The source's QEMU (and the accelerators asked for). */
  qemu: LabQemuRecord & { accelerators: string[] };
  /** The destination's QEMU (the same binary unless the scenario crosses versions). */
  destinationQemu?: LabQemuRecord;
  dpdk?: { binary?: string; version?: string };
  /** tests/vhost-user-bridge of the bridge scenarios. */
  bridge?: { binary: string };
  guest: {
    source: string;
    sourceSha256?: string;
    commandLine: string;
    memoryMiB: number;
    dirtyRateMiBps: number;
    zeroShare: number;
    dirtyRegionMiB: number;
  };
  capabilities: Record<string, boolean>;
  parameters: Record<string, unknown>;
  traceEvents: string[];
  /** Parameters of newer QEMUs the scenario sets where offered, and why each was left out. */
  parametersNotOffered?: Record<string, string>;
  migrationUri?: string;
  /** cpr-transfer: the second, cpr-type channel. */
  cprChannel?: string;
  cpr?: LabCprRecord;
  /** tmpfs folder of the guest RAM file (cpr-reboot); removed at the end. */
  ramDir?: string;
  postcopy?: { afterMs: number; switched: boolean; statusAtSwitch?: string; switchedAtMs?: number; dirtySyncCountAtSwitch?: number };
  destinationRunning?: boolean;
  /** Private working directory of the run (sockets, guest image); removed at the end. */
  tempDir?: string;
  processes: LabProcessRecord[];
  files: Partial<Record<keyof LabFiles, string>>;
  summary?: Record<string, unknown>;
}

const MiB = 1024 * 1024;

/** The figures of a run worth seeing at a glance in scenario.json. */
export function summarizeMigration(src: MigrationInfo | undefined, dst: MigrationInfo | undefined): Record<string, unknown> {
  if (!src && !dst) return {};
  return {
    srcStatus: src?.status,
    dstStatus: dst?.status,
    totalTimeMs: src?.['total-time'],
    downtimeMs: src?.downtime,
    dirtySyncCount: src?.ram?.['dirty-sync-count'],
    transferredMiB: src?.ram ? Math.round((src.ram.transferred / MiB) * 10) / 10 : undefined,
    zeroPages: src?.ram?.duplicate,
    normalPages: src?.ram?.normal,
    postcopyRequests: src?.ram?.['postcopy-requests'],
    postcopyBlocktimeMs: dst?.['postcopy-blocktime'],
  };
}
