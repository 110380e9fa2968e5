import { defaultQemuBinary, type ConfiguredQemu, type QemuInstall } from '../qemu/installs';
import { LabError } from './errors';
import { guestCommandLine, zeroShareToSixteenths, type GuestSettings } from './guest';
import { isLabScenario, scenarioPlan, type ScenarioPlan } from './scenarios';
import type { LabOptions } from './types';

export const labDefaults = {
  qemu: defaultQemuBinary,
  testpmdBinary: 'dpdk-testpmd',
  nasmBinary: 'nasm',
  memoryMiB: 256,
  zeroShare: 0.25,
  postcopyAfterMs: 1500,
  // TCG by default: the lab guest is tiny and runs fast emulated, while nested KVM (common on
  // CI hosts) can take many seconds to boot firmware. `--accel kvm,tcg` asks for KVM first.
  accelerators: ['tcg'],
  timeoutMs: 120_000,
} as const;

/** LabOptions with every default applied and every value checked. */
export interface ResolvedLab {
  plan: ScenarioPlan;
  /** Undefined: the scenario's default (the binary on PATH; the oldest install for cross-version). */
  qemu: string | QemuInstall | undefined;
  dstQemu: string | QemuInstall | undefined;
  configuredQemus: readonly ConfiguredQemu[];
  cacheDir: string | undefined;
  testpmdBinary: string;
  bridgeBinary: string | undefined;
  qemuBuildDirs: readonly string[];
  monitorSockets: boolean;
  nasmBinary: string;
  memoryMiB: number;
  guest: GuestSettings;
  guestAppend: string;
  postcopyAfterMs: number;
  capabilities: Record<string, boolean>;
  parameters: Record<string, unknown>;
  /** The plan's parameters of newer QEMUs that the options did not set themselves. */
  parametersIfOffered: Record<string, unknown>;
  traceEvents: string[];
  accelerators: string[];
  timeoutMs: number;
}

function positiveInt(name: string, v: number | undefined, fallback: number, max: number): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v <= 0 || v > max) {
    throw new LabError('options', `${name} must be an integer between 1 and ${max}, got ${v}`);
  }
  return v;
}

export function resolveLabOptions(o: LabOptions): ResolvedLab {
  if (!isLabScenario(o.scenario)) throw new LabError('options', `unknown scenario '${String(o.scenario)}'`);
  if (!o.outDir) throw new LabError('options', 'outDir is required');
  const plan = scenarioPlan(o.scenario);
  const memoryMiB = positiveInt('memoryMiB', o.memoryMiB, labDefaults.memoryMiB, 65536);
  // The guest keeps its region below 4 GiB and above 4 MiB, in flat 32-bit mode.
  if (memoryMiB < 16 || memoryMiB > 3072) throw new LabError('options', `memoryMiB must be 16..3072 for the lab guest, got ${memoryMiB}`);
  let zeroSixteenths: number;
  try {
    zeroSixteenths = zeroShareToSixteenths(o.zeroShare ?? labDefaults.zeroShare);
  } catch (e) {
    throw new LabError('options', e instanceof Error ? e.message : String(e));
  }
  const rate = o.dirtyRateMiBps ?? plan.dirtyRateMiBps;
  if (!Number.isInteger(rate) || rate < 0 || rate > 4096) throw new LabError('options', `dirtyRateMiBps must be an integer 0..4096, got ${rate}`);
  const guest: GuestSettings = {
    rateMiBps: rate,
    zeroSixteenths,
    regionMiB: positiveInt('dirtyRegionMiB', o.dirtyRegionMiB, plan.dirtyRegionMiB, memoryMiB),
    ...(plan.guestVirtio !== undefined ? { virtio: plan.guestVirtio } : {}),
  };
  const postcopyAfterMs = o.postcopyAfterMs ?? labDefaults.postcopyAfterMs;
  if (!Number.isFinite(postcopyAfterMs) || postcopyAfterMs < 0) throw new LabError('options', `postcopyAfterMs must be >= 0, got ${postcopyAfterMs}`);
  const accelerators = o.accelerators ?? [...labDefaults.accelerators];
  if (accelerators.length === 0) throw new LabError('options', 'accelerators must name at least one accelerator (e.g. kvm, tcg)');
  for (const a of accelerators) {
    if (!/^[a-z][a-z0-9_-]*$/.test(a)) throw new LabError('options', `invalid accelerator '${a}'`);
  }
  for (const p of o.traceEvents ?? []) {
    if (!/^-?[A-Za-z0-9_*?]+$/.test(p)) throw new LabError('options', `invalid trace pattern '${p}' (letters, digits, _, * and ? only; a leading - disables)`);
  }
  return {
    plan,
    qemu: o.qemu,
    dstQemu: o.dstQemu,
    configuredQemus: o.configuredQemus ?? [],
    cacheDir: o.cacheDir,
    testpmdBinary: o.testpmdBinary ?? labDefaults.testpmdBinary,
    bridgeBinary: o.bridgeBinary,
    qemuBuildDirs: o.qemuBuildDirs ?? [],
    monitorSockets: o.monitorSockets ?? false,
    nasmBinary: o.nasmBinary ?? labDefaults.nasmBinary,
    memoryMiB,
    guest,
    guestAppend: guestCommandLine(guest),
    postcopyAfterMs,
    capabilities: { ...plan.capabilities, ...o.capabilities },
    parameters: { ...plan.parameters, ...o.parameters },
    parametersIfOffered: Object.fromEntries(Object.entries(plan.parametersIfOffered).filter(([k]) => !(k in (o.parameters ?? {})))),
    traceEvents: o.traceEvents ? [...o.traceEvents] : plan.traceEvents,
    accelerators,
    timeoutMs: positiveInt('timeoutMs', o.timeoutMs, labDefaults.timeoutMs, 24 * 3600 * 1000),
  };
}
