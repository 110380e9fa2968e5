import {
  QemuInstallError,
  compareVersions,
  machineProperties,
  defaultQemuBinary,
  describeInstall,
  findQemuInstalls,
  resolveQemu,
  traceEventNames,
  type FindOptions,
  type QemuInstall,
} from '../qemu/installs';
import { LabError, LabMissingBinaryError } from './errors';
import type { ResolvedLab } from './options';
import type { ScenarioPlan } from './scenarios';

/** The QEMU each side runs. */
export interface LabQemus {
  src: QemuInstall;
  dst: QemuInstall;
}

const qemuSetting = '--qemu 7.2|10.0|PATH (LabOptions.qemu)';

/**
 * The trace events the lab adds wherever the binary has them: how the stop-and-copy spent its
 * time, per device and per checkpoint (QEMU 8.2+).
 */
export const downtimeTraceEvents = ['vmstate_downtime_save', 'vmstate_downtime_load', 'vmstate_downtime_checkpoint'] as const;

function asLabError(e: unknown): never {
  if (e instanceof QemuInstallError) {
    if (e.problem === 'missing') throw new LabMissingBinaryError(e.binary, 'QEMU', qemuSetting);
    throw new LabError('check programs', e.message);
  }
  throw e;
}

async function resolveOne(spec: string | QemuInstall, find: FindOptions): Promise<QemuInstall> {
  if (typeof spec !== 'string') return spec;
  return resolveQemu(spec, find).catch(asLabError);
}

/**
 * Resolves the source's and the destination's QEMU. A cross-version scenario defaults to the
 * oldest and the newest install and refuses two of the same version.
 */
export async function resolveLabQemus(r: ResolvedLab): Promise<LabQemus> {
  const find: FindOptions = { configured: r.configuredQemus, ...(r.cacheDir !== undefined ? { cacheDir: r.cacheDir } : {}) };
  if (!r.plan.crossVersion) {
    // A scenario that prefers a version runs it when installed, else the default binary.
    const preferred = r.qemu === undefined && r.plan.preferredQemu !== undefined
      ? await resolveQemu(r.plan.preferredQemu, find).catch(() => undefined)
      : undefined;
    const src = preferred ?? await resolveOne(r.qemu ?? defaultQemuBinary, find);
    const dst = r.dstQemu !== undefined ? await resolveOne(r.dstQemu, find) : src;
    return { src, dst };
  }
  const needsList = r.qemu === undefined || r.dstQemu === undefined;
  const all = needsList ? (await findQemuInstalls(find)).installs : [];
  const src = r.qemu !== undefined ? await resolveOne(r.qemu, find) : all[0];
  const dst = r.dstQemu !== undefined ? await resolveOne(r.dstQemu, find) : all[all.length - 1];
  const installed = all.length ? all.map(describeInstall).join('; ') : 'none found';
  if (!src || !dst) throw new LabError('check programs', `${r.plan.name} needs two QEMU versions; installed: ${installed}`);
  if (src.versionText === dst.versionText) {
    throw new LabError(
      'check programs',
      `${r.plan.name} runs two different QEMU versions, but both sides are QEMU ${src.versionText} (installed: ${installed}); ` +
        'scripts/setup.sh installs QEMU 10.0.2 beside the system\'s, or name both with --qemu and --dst-qemu',
    );
  }
  return { src, dst };
}

const namesCache = new Map<string, Promise<Set<string>>>();

/**
 * Every downtime event this binary has, then the scenario's trace patterns (so a pattern that
 * disables, `-vmstate_downtime_*`, still wins). A pattern without wildcards that names an event
 * this binary lacks is left out (QEMU would warn about it).
 */
export async function traceEventsFor(install: QemuInstall, patterns: readonly string[]): Promise<string[]> {
  let names = namesCache.get(install.binary);
  if (!names) {
    names = traceEventNames(install).catch((e: unknown) => {
      namesCache.delete(install.binary);
      throw new LabError('check programs', `could not list the trace events of ${install.binary} (-trace help): ${e instanceof Error ? e.message : String(e)}`);
    });
    namesCache.set(install.binary, names);
  }
  const known = await names;
  const exists = (p: string): boolean => /[*?]/.test(p) || known.has(p.replace(/^-/, ''));
  return [...downtimeTraceEvents.filter((n) => known.has(n)), ...patterns.filter(exists)];
}

/**
 * Refuses a machine type or a machine property (`aux-ram-share`) the binary lacks before
 * anything starts: QEMU would only say so as it exits.
 */
export async function checkMachine(side: string, install: QemuInstall, machine: string, properties: readonly string[]): Promise<void> {
  const props = await machineProperties(install, machine).catch((e: unknown) => {
    throw new LabError('check programs', `could not list the properties of machine ${machine} (${install.binary} -M ${machine},help): ${e instanceof Error ? e.message : String(e)}`);
  });
  if (!props) throw new LabError('check programs', `QEMU ${install.versionText} (${install.binary}, ${side}) has no machine type '${machine}'`);
  const lacking = properties.map((p) => p.split('=')[0] ?? p).filter((p) => !props.has(p));
  if (lacking.length > 0) {
    throw new LabError(
      'check programs',
      `machine ${machine} of QEMU ${install.versionText} (${install.binary}, ${side}) has no property ${lacking.join(', ')}; run the scenario on a newer QEMU (--qemu 10.0)`,
    );
  }
}

/** One entry of the lab's QEMU picker. */
export interface QemuChoice {
  src: QemuInstall;
  dst: QemuInstall;
  label: string;
}

/**
 * What a picker offers for a plan, the suggested one first: each install, newest first; for a
 * cross-version plan each ordered pair of different versions, older → newer first.
 */
export function qemuChoices(plan: Pick<ScenarioPlan, 'crossVersion'>, installs: readonly QemuInstall[]): QemuChoice[] {
  const byVersion = [...installs].sort((a, b) => compareVersions(a.version, b.version));
  if (!plan.crossVersion) return [...byVersion].reverse().map((q) => ({ src: q, dst: q, label: `QEMU ${q.versionText}` }));
  const pairs: QemuChoice[] = [];
  for (const upgrade of [true, false]) {
    for (const a of byVersion) {
      for (const b of byVersion) {
        const order = compareVersions(a.version, b.version);
        if (upgrade ? order < 0 : order > 0) pairs.push({ src: a, dst: b, label: `QEMU ${a.versionText} → ${b.versionText}` });
      }
    }
  }
  return pairs;
}
