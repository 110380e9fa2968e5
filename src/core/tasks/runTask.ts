/**
 * Runs one `qemu-migration` task to its end: the process kinds (vhost-user-bridge, qemu, testpmd)
 * until their process ends or the task is ended, migrate until the migration did, postcopy-bridge
 * as the lab's postcopy-vhost-user-bridge scenario. Returns the exit code the terminal shows.
 * Everything here runs without VS Code; the extension gives it a terminal and the settings.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildGuest } from '../lab/guest';
import { findExecutable } from '../lab/process';
import { findVhostUserBridge, pickFreeUdpPorts } from '../qemu/bridge';
import { resolveQemu, type ConfiguredQemu } from '../qemu/installs';
import { runCompoundTask } from './compoundTask';
import type { BridgeTaskDefinition, QemuTaskDefinition, TaskDefinition, TaskRole, TestpmdTaskDefinition } from './definition';
import { runMigrateTask } from './migrateTask';
import { bridgeProcess, qemuProcess, runPaths, testpmdProcess, type ProcessPlan, type RunPaths } from './plan';
import { PreflightError, sharedMemoryProblem, udpProblem, type PreflightProblem } from './preflight';
import { ProcessTask, type TaskOutput } from './processTask';
import { endedLine } from './problems';

/** What the tasks take from the user's settings (never from workspace settings in an untrusted workspace). */
export interface TaskSettings {
  /** QEMUMigration.QEMUBinary: a name on PATH or a path; the default QEMU. */
  readonly qemuBinary: string;
  readonly configuredQemus?: readonly ConfiguredQemu[];
  /** QEMUMigration.QEMUBuildFolder (and the source tree's build/): where tests/vhost-user-bridge is looked for first. */
  readonly buildDirs: readonly string[];
  readonly testpmdBinary: string;
  readonly nasmBinary?: string;
  /** setup's cache (QMW_CACHE); default ~/.cache/qemu-migration-workbench. */
  readonly cacheDir?: string;
  /** Where the logs and recordings go (QEMUMigration.outputFolder). */
  readonly recordingsDir: string;
  /** Where the sockets go: a short private folder ($XDG_RUNTIME_DIR or the temporary folder). */
  readonly runtimeDir: string;
  readonly accelerators?: readonly string[];
}

export interface TaskHooks {
  readonly out: TaskOutput;
  /** Aborted when the task is ended (or the extension goes away): its processes stop, its sockets go. */
  readonly signal: AbortSignal;
  /** Each process as it starts, so an owner can kill it synchronously if it must. */
  readonly onProcess?: (t: ProcessTask) => void;
  /** A QEMU's second QMP monitor is free at `socket` (for the Connections view). */
  readonly onMonitor?: (role: TaskRole, socket: string, label: string) => void;
  /** A recording (traces, logs, qmp.jsonl) is complete enough to check; awaited. */
  readonly onRecording?: (dir: string) => Promise<void>;
}

const find = (s: TaskSettings): { cacheDir?: string; configured?: readonly ConfiguredQemu[] } => ({
  ...(s.cacheDir !== undefined ? { cacheDir: s.cacheDir } : {}),
  ...(s.configuredQemus !== undefined ? { configured: s.configuredQemus } : {}),
});

async function planBridge(def: BridgeTaskDefinition, paths: RunPaths, s: TaskSettings): Promise<ProcessPlan> {
  const bridge = findVhostUserBridge({ buildDirs: s.buildDirs, ...(s.cacheDir !== undefined ? { cacheDir: s.cacheDir } : {}) }).path;
  const given = [def.localUdp, def.remoteUdp].filter((a): a is string => a !== undefined);
  const problems = (await Promise.all(given.map(udpProblem))).filter((p): p is PreflightProblem => p !== undefined);
  if (problems.length) throw new PreflightError(problems);
  const [a, b] = await pickFreeUdpPorts('127.0.0.1', 2);
  return bridgeProcess(def, paths, { bridge, stdbuf: findExecutable('stdbuf'), local: def.localUdp ?? `127.0.0.1:${a}`, remote: def.remoteUdp ?? `127.0.0.1:${b}` });
}

async function planQemu(def: QemuTaskDefinition, paths: RunPaths, s: TaskSettings, signal: AbortSignal): Promise<ProcessPlan> {
  const shared = sharedMemoryProblem(def.vhostUser !== undefined, def.sharedMemory);
  if (shared) throw new PreflightError([shared]);
  const install = await resolveQemu(def.qemu ?? s.qemuBinary, find(s));
  const nasm = s.nasmBinary ?? 'nasm';
  if (findExecutable(nasm) === undefined) throw new PreflightError([{ check: 'program', message: `nasm (it assembles the lab guest) was not found on PATH; install it (apt-get install nasm)` }]);
  mkdirSync(paths.socketDir, { recursive: true });
  const kernel = join(paths.socketDir, `${def.role}-dirty.bin`);
  await buildGuest(nasm, kernel, signal);
  return qemuProcess(def, paths, { binary: install.binary, firmwareDir: install.firmwareDir, kernel, accelerators: s.accelerators ?? ['tcg'] });
}

function planTestpmd(def: TestpmdTaskDefinition, paths: RunPaths, s: TaskSettings): ProcessPlan {
  const testpmd = findExecutable(s.testpmdBinary);
  if (!testpmd) throw new PreflightError([{ check: 'program', message: `DPDK testpmd '${s.testpmdBinary}' was not found; install it or set QEMUMigration.testpmdBinary` }]);
  return testpmdProcess(def, paths, { testpmd, filePrefix: `qmig-task-${process.pid}-${def.run}-${def.role}` });
}

/** A process kind: started, ready, then alive until it ends or the task is ended. */
async function runProcess(plan: ProcessPlan, def: TaskDefinition & { role: TaskRole }, hooks: TaskHooks): Promise<number> {
  const t = await ProcessTask.start(plan, hooks.out, hooks.signal);
  hooks.onProcess?.(t);
  const ended = new Promise<void>((resolve) => {
    if (hooks.signal.aborted) resolve();
    else hooks.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  try {
    await Promise.race([t.ready, t.exit(), ended]);
    if (plan.monitorSocket !== undefined && !hooks.signal.aborted && !t.proc.hasExited) hooks.onMonitor?.(def.role, plan.monitorSocket, plan.label);
    await Promise.race([t.exit(), ended]);
  } finally {
    await t.stop();
  }
  const code = await t.exit();
  hooks.out.line(endedLine(`${plan.label} ${t.proc.exitDescription ?? 'ended'}; sockets removed`));
  return code;
}

export async function runTask(def: TaskDefinition, s: TaskSettings, hooks: TaskHooks): Promise<number> {
  const paths = runPaths(def.run, { runtimeDir: s.runtimeDir, recordingsDir: s.recordingsDir });
  switch (def.kind) {
    case 'vhost-user-bridge': return runProcess(await planBridge(def, paths, s), def, hooks);
    case 'qemu': return runProcess(await planQemu(def, paths, s, hooks.signal), def, hooks);
    case 'testpmd': return runProcess(planTestpmd(def, paths, s), def, hooks);
    case 'migrate': return runMigrateTask(def, paths, s, hooks);
    case 'postcopy-bridge': return runCompoundTask(def, s, hooks);
  }
}
