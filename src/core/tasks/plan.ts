/**
 * From a task definition to the process it starts: argument array, output file, the sockets it
 * owns and how it tells it is ready. Pure (no process is started, no file touched): unit-tested
 * without VS Code, like the lab's command lines it builds on.
 */
import { isAbsolute, join } from 'node:path';
import { bridgeArgs, lineBuffered, qemuArgs, testpmdArgs } from '../lab/commandLines';
import { guestCommandLine } from '../lab/guest';
import { labFileNames } from '../lab/record';
import { sideOf, type BridgeTaskDefinition, type QemuTaskDefinition, type TaskRole, type TestpmdTaskDefinition } from './definition';

/** Where a run's sockets (a private runtime folder) and its logs (a recording folder) live. */
export interface RunPaths {
  /** Sockets, the guest image: short paths, outside the workspace. */
  readonly socketDir: string;
  /** Logs, traces, qmp.jsonl, scenario.json: a folder the Recordings view lists. */
  readonly logDir: string;
}

export function runPaths(run: string, opts: { runtimeDir: string; recordingsDir: string }): RunPaths {
  return { socketDir: join(opts.runtimeDir, `qemu-migration-${run}`), logDir: join(opts.recordingsDir, `tasks-${run}`) };
}

/** A socket named in a definition: a name inside the run's socket folder, or an absolute path. */
export function socketPath(paths: RunPaths, name: string): string {
  return isAbsolute(name) ? name : join(paths.socketDir, name);
}

export const defaultSockets = {
  vhostUser: (role: TaskRole): string => `${sideOf(role)}-vhost-user.sock`,
  qmp: (role: TaskRole): string => `${sideOf(role)}-qmp.sock`,
  /** The second monitor of a task's QEMU, free for the Connections view. */
  monitor: (role: TaskRole): string => `${sideOf(role)}-monitor.sock`,
  migration: 'migration.sock',
} as const;

/** How a started process says it is ready. */
export type Readiness =
  /** A line of its output matches (the bridge: "Waiting for data from udp backend on ..."). */
  | { readonly kind: 'line'; readonly pattern: RegExp }
  /** QEMU prints nothing when ready: its QMP socket greets. */
  | { readonly kind: 'qmp'; readonly socket: string }
  /** The socket it listens on exists. */
  | { readonly kind: 'socket'; readonly path: string };

export type OutputSource = 'bridge' | 'qemu' | 'testpmd';

export interface ProcessPlan {
  readonly label: string;
  readonly binary: string;
  readonly args: readonly string[];
  /** Its stdout and stderr, line by line. */
  readonly logFile: string;
  readonly source: OutputSource;
  readonly readiness: Readiness;
  /** Sockets the process creates: checked free before it starts, removed when it ends. */
  readonly sockets: readonly string[];
  /** Further files it writes, by recording key (the trace, the guest console). */
  readonly files: Readonly<Record<string, string>>;
  /** A QEMU's second QMP monitor, free for someone to watch it. */
  readonly monitorSocket?: string | undefined;
}

/** The bridge's readiness line (tests/vhost-user-bridge.c). */
export const BRIDGE_READY = /^Waiting for data from udp backend on \S+\.\.\.$/;

export function bridgeProcess(def: BridgeTaskDefinition, paths: RunPaths, env: { bridge: string; stdbuf: string | undefined; local: string; remote: string }): ProcessPlan {
  const side = sideOf(def.role);
  const socket = socketPath(paths, def.socket ?? defaultSockets.vhostUser(def.role));
  const cmd = lineBuffered(env.bridge, bridgeArgs({ socket, local: env.local, remote: env.remote, client: def.client === true }), env.stdbuf);
  return {
    label: `${side} vhost-user-bridge`,
    binary: cmd.binary,
    args: cmd.args,
    logFile: join(paths.logDir, labFileNames[side === 'src' ? 'srcBridgeLog' : 'dstBridgeLog']),
    source: 'bridge',
    // Without stdbuf its lines come in 4 KiB blocks: then the socket it listens on tells.
    readiness: env.stdbuf !== undefined || def.client === true ? { kind: 'line', pattern: BRIDGE_READY } : { kind: 'socket', path: socket },
    sockets: def.client === true ? [] : [socket],
    files: {},
  };
}

export function testpmdProcess(def: TestpmdTaskDefinition, paths: RunPaths, env: { testpmd: string; filePrefix: string }): ProcessPlan {
  const side = sideOf(def.role);
  const socket = socketPath(paths, def.socket ?? defaultSockets.vhostUser(def.role));
  return {
    label: `${side} testpmd`,
    binary: env.testpmd,
    args: testpmdArgs(socket, env.filePrefix),
    logFile: join(paths.logDir, labFileNames[side === 'src' ? 'srcTestpmdLog' : 'dstTestpmdLog']),
    source: 'testpmd',
    readiness: { kind: 'socket', path: socket },
    sockets: [socket],
    files: {},
  };
}

export interface QemuEnv {
  readonly binary: string;
  readonly firmwareDir?: string | undefined;
  /** The lab guest, assembled (guest/dirty.asm). */
  readonly kernel: string;
  readonly accelerators: readonly string[];
}

export function qemuProcess(def: QemuTaskDefinition, paths: RunPaths, env: QemuEnv): ProcessPlan {
  const side = sideOf(def.role);
  const qmp = socketPath(paths, def.qmp ?? defaultSockets.qmp(def.role));
  const monitor = socketPath(paths, defaultSockets.monitor(def.role));
  const vhostUser = def.vhostUser !== undefined ? socketPath(paths, def.vhostUser) : undefined;
  const traceFile = join(paths.logDir, labFileNames[side === 'src' ? 'srcTrace' : 'dstTrace']);
  const guestLog = join(paths.logDir, labFileNames[side === 'src' ? 'srcGuestLog' : 'dstGuestLog']);
  const args = qemuArgs({
    side,
    ...(env.firmwareDir !== undefined ? { firmwareDir: env.firmwareDir } : {}),
    memoryMiB: def.memoryMiB,
    ...(def.sharedMemory ? { ramBackend: { kind: 'memfd' as const } } : {}),
    accelerators: env.accelerators,
    kernel: env.kernel,
    // With a NIC the guest drives it through virtio 1.0, which libvhost-user back-ends require.
    append: guestCommandLine({ rateMiBps: def.guestRateMiBps, zeroSixteenths: 4, regionMiB: 16, ...(vhostUser !== undefined ? { virtio: 1 as const } : {}) }),
    qmpSocket: qmp,
    extraQmpSockets: [monitor],
    traceFile,
    traceEvents: def.traceEvents,
    debugconFile: guestLog,
    ...(vhostUser !== undefined ? { vhostUserSocket: vhostUser, virtioModernOnly: true } : {}),
    incoming: def.role === 'destination',
  });
  return {
    label: `${side} QEMU`,
    binary: env.binary,
    args,
    logFile: join(paths.logDir, labFileNames[side === 'src' ? 'srcQemuStderr' : 'dstQemuStderr']),
    source: 'qemu',
    readiness: { kind: 'qmp', socket: qmp },
    sockets: [qmp, monitor],
    monitorSocket: monitor,
    files: { [side === 'src' ? 'srcTrace' : 'dstTrace']: traceFile, [side === 'src' ? 'srcGuestLog' : 'dstGuestLog']: guestLog },
  };
}
