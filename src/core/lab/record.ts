import type { MigrationInfo } from '../qmp/migration';
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
} as const satisfies Record<keyof LabFiles, string>;

/** One process of the run as scenario.json lists it. */
export interface LabProcessRecord {
  role: string;
  argv: string[];
  pid?: number;
  /** How it ended (filled in at teardown). */
  exit?: string;
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
  qemu: { binary?: string; version?: string; package?: string; accelerator?: string; accelerators: string[] };
  dpdk?: { binary?: string; version?: string };
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
  migrationUri?: string;
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
