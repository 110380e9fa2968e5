/**
 * The QEMU system emulators on this machine: the one on PATH (Debian's 7.2 here), the ones
 * scripts/setup.sh unpacks into the cache (`<cache>/qemu/<version>/usr/bin/qemu-system-x86_64`,
 * firmware in `<cache>/qemu/<version>/usr/share/qemu`), and the ones a user lists in settings.
 * Every version is read from the binary itself (`--version`), never from a folder name.
 * The lab, the CLI, the extension's lab picker and the tests all ask this module.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { findExecutable } from '../lab/process';

export interface QemuVersion {
  major: number;
  minor: number;
  micro: number;
}

/** Where an install was found. */
export type QemuOrigin = 'system' | 'cache' | 'setting' | 'path';

export interface QemuInstall {
  origin: QemuOrigin;
  /** Absolute path of `qemu-system-x86_64`. */
  binary: string;
  /** Firmware folder passed as `-L` (the binary's own data folder when it is not the compiled-in one). */
  firmwareDir?: string;
  version: QemuVersion;
  /** `10.0.2`. */
  versionText: string;
  /** The package text in parentheses after the version (`Debian 1:10.0.2+ds-2+deb13u1~bpo12+1`). */
  package?: string;
}

/** A QEMU named in settings (`QEMUMigration.moreQEMUBinaries`). */
export interface ConfiguredQemu {
  binary: string;
  firmwareDir?: string;
}

export type QemuInstallProblem = 'missing' | 'not-qemu' | 'too-old' | 'not-installed';

export class QemuInstallError extends Error {
  override readonly name = 'QemuInstallError';
  constructor(readonly problem: QemuInstallProblem, readonly binary: string, message: string) {
    super(message);
  }
}

/** The oldest QEMU the workbench runs (Debian bookworm's). */
export const minimumQemuVersion: QemuVersion = { major: 7, minor: 2, micro: 0 };

export const defaultQemuBinary = 'qemu-system-x86_64';

/** The workbench's cache folder (setup.sh's `QMW_CACHE`). */
export function workbenchCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const set = env['QMW_CACHE'];
  return set !== undefined && set !== '' ? set : join(homedir(), '.cache', 'qemu-migration-workbench');
}

export function compareVersions(a: QemuVersion, b: QemuVersion): number {
  return a.major - b.major || a.minor - b.minor || a.micro - b.micro;
}

export function formatVersion(v: QemuVersion): string {
  return `${v.major}.${v.minor}.${v.micro}`;
}

/** Parses `QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2)`; undefined when no such line. */
export function parseVersionOutput(text: string): { version: QemuVersion; package?: string } | undefined {
  const m = /^QEMU emulator version (\d+)\.(\d+)\.(\d+)(?:[^\n(]*\(([^)\n]*)\))?/m.exec(text);
  if (!m) return undefined;
  const version = { major: Number(m[1]), minor: Number(m[2]), micro: Number(m[3]) };
  return m[4] !== undefined && m[4] !== '' ? { version, package: m[4] } : { version };
}

const probeTimeoutMs = 15_000;

/** Runs `binary args` (argument array, no shell) and returns stdout; rejects on failure or timeout. */
function run(binary: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, [...args], { timeout: probeTimeoutMs, maxBuffer: 8 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const why = err.killed ? `did not finish within ${probeTimeoutMs / 1000} s` : err.message.split('\n')[0] ?? String(err);
        reject(new Error(`${why}${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-2).join(' ')}` : ''}`));
      } else resolve(stdout);
    });
  });
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The firmware folder that belongs to a binary outside the system's prefix: `<prefix>/share/qemu`
 * next to `<prefix>/bin`, or `pc-bios` in a build folder. The system's own is compiled in.
 */
export function firmwareDirFor(binary: string): string | undefined {
  const bin = dirname(binary);
  if (bin === '/usr/bin' || bin === '/bin' || bin === '/usr/local/bin') return undefined;
  for (const candidate of [join(bin, '..', 'share', 'qemu'), join(bin, 'pc-bios')]) {
    if (isDir(candidate)) return join(candidate);
  }
  return undefined;
}

/**
 * Reads the version of one binary and checks it is a QEMU the workbench can run.
 * `binary` is a path or a name looked up on PATH.
 */
export async function probeQemu(binary: string, opts: { origin?: QemuOrigin; firmwareDir?: string; pathEnv?: string } = {}): Promise<QemuInstall> {
  const found = findExecutable(binary, opts.pathEnv);
  if (!found) {
    throw new QemuInstallError('missing', binary, `QEMU binary '${binary}' was not found${binary.includes('/') ? '' : ' on PATH'} or is not executable`);
  }
  let out: string;
  try {
    out = await run(found, ['--version']);
  } catch (e) {
    throw new QemuInstallError('not-qemu', found, `'${found}' is not a QEMU: '${found} --version' failed (${e instanceof Error ? e.message : String(e)})`);
  }
  const parsed = parseVersionOutput(out);
  if (!parsed) {
    const first = out.trim().split('\n')[0]?.slice(0, 120) ?? '';
    throw new QemuInstallError('not-qemu', found, `'${found}' is not a QEMU: its --version printed ${first ? `'${first}'` : 'nothing'}, not 'QEMU emulator version X.Y.Z'`);
  }
  if (compareVersions(parsed.version, minimumQemuVersion) < 0) {
    throw new QemuInstallError(
      'too-old',
      found,
      `'${found}' is QEMU ${formatVersion(parsed.version)}; the workbench needs QEMU ${formatVersion(minimumQemuVersion)} or newer`,
    );
  }
  const firmwareDir = opts.firmwareDir ?? firmwareDirFor(found);
  return {
    origin: opts.origin ?? 'path',
    binary: found,
    ...(firmwareDir !== undefined ? { firmwareDir } : {}),
    version: parsed.version,
    versionText: formatVersion(parsed.version),
    ...(parsed.package !== undefined ? { package: parsed.package } : {}),
  };
}

/** `<cache>/qemu/<version>/usr/bin/qemu-system-x86_64` of every version setup unpacked. */
export function cachedQemuCandidates(cacheDir: string): ConfiguredQemu[] {
  const root = join(cacheDir, 'qemu');
  let names: string[];
  try {
    names = readdirSync(root).sort();
  } catch {
    return [];
  }
  return names.flatMap((v) => {
    const binary = join(root, v, 'usr', 'bin', defaultQemuBinary);
    return existsSync(binary) ? [{ binary, firmwareDir: join(root, v, 'usr', 'share', 'qemu') }] : [];
  });
}

export interface FindOptions {
  /** Default workbenchCacheDir(). */
  cacheDir?: string;
  /** Default process.env.PATH. */
  pathEnv?: string;
  /** QEMUs named in settings, probed first. */
  configured?: readonly ConfiguredQemu[];
}

export interface FoundQemus {
  /** Oldest version first. */
  installs: QemuInstall[];
  /** Configured or cached binaries that are not a usable QEMU, with the reason. */
  problems: QemuInstallError[];
}

function realPath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/** Every QEMU on this machine the workbench can run, each probed once. */
export async function findQemuInstalls(opts: FindOptions = {}): Promise<FoundQemus> {
  const candidates: Array<ConfiguredQemu & { origin: QemuOrigin }> = [
    ...(opts.configured ?? []).map((c) => ({ ...c, origin: 'setting' as const })),
    ...cachedQemuCandidates(opts.cacheDir ?? workbenchCacheDir()).map((c) => ({ ...c, origin: 'cache' as const })),
  ];
  const system = findExecutable(defaultQemuBinary, opts.pathEnv);
  if (system) candidates.push({ binary: system, origin: 'system' });
  const probed = await Promise.all(
    candidates.map((c) =>
      probeQemu(c.binary, { origin: c.origin, ...(c.firmwareDir !== undefined ? { firmwareDir: c.firmwareDir } : {}), ...(opts.pathEnv !== undefined ? { pathEnv: opts.pathEnv } : {}) })
        .then((install) => ({ install }), (e: unknown) => ({ error: e instanceof QemuInstallError ? e : new QemuInstallError('not-qemu', c.binary, String(e)) })),
    ),
  );
  const seen = new Set<string>();
  const installs: QemuInstall[] = [];
  const problems: QemuInstallError[] = [];
  for (const p of probed) {
    if ('error' in p) {
      problems.push(p.error);
      continue;
    }
    const key = realPath(p.install.binary);
    if (seen.has(key)) continue;
    seen.add(key);
    installs.push(p.install);
  }
  installs.sort((a, b) => compareVersions(a.version, b.version));
  return { installs, problems };
}

/** True for `7.2`, `10.0`, `10.0.2`: a version to pick among the installs, not a program. */
export function isVersionSpec(spec: string): boolean {
  return /^\d+\.\d+(\.\d+)?$/.test(spec);
}

function matchesVersion(i: QemuInstall, spec: string): boolean {
  const parts = spec.split('.').map(Number);
  return parts[0] === i.version.major && parts[1] === i.version.minor && (parts[2] === undefined || parts[2] === i.version.micro);
}

/** Where an install came from, in words. */
export function describeOrigin(o: QemuOrigin): string {
  return { system: 'on PATH', cache: 'set up by scripts/setup.sh', setting: 'from settings', path: 'given path' }[o];
}

/** One line naming an install, for lists and messages. */
export function describeInstall(i: QemuInstall): string {
  return `QEMU ${i.versionText} (${i.binary}, ${describeOrigin(i.origin)})`;
}

/**
 * The QEMU a user asked for: a version (`7.2`, `10.0`, `10.0.2`) picks among the installs (a
 * configured one before the cache's before the system's); anything else is a path or a name on PATH.
 */
export async function resolveQemu(spec: string, opts: FindOptions = {}): Promise<QemuInstall> {
  if (!isVersionSpec(spec)) {
    const configured = opts.configured?.find((c) => c.binary === spec);
    return probeQemu(spec, {
      origin: configured ? 'setting' : 'path',
      ...(configured?.firmwareDir !== undefined ? { firmwareDir: configured.firmwareDir } : {}),
      ...(opts.pathEnv !== undefined ? { pathEnv: opts.pathEnv } : {}),
    });
  }
  const { installs, problems } = await findQemuInstalls(opts);
  const order: QemuOrigin[] = ['setting', 'cache', 'system', 'path'];
  const match = installs.filter((i) => matchesVersion(i, spec)).sort((a, b) => order.indexOf(a.origin) - order.indexOf(b.origin))[0];
  if (match) return match;
  const have = installs.length ? `installed: ${installs.map((i) => `${i.versionText} (${i.binary})`).join(', ')}` : 'no QEMU is installed';
  const broken = problems.length ? `; not usable: ${problems.map((p) => p.message).join('; ')}` : '';
  throw new QemuInstallError(
    'not-installed',
    spec,
    `no QEMU ${spec} is installed (${have}${broken}); scripts/setup.sh installs QEMU 10.0.2 into ${join(opts.cacheDir ?? workbenchCacheDir(), 'qemu')}, or give a path`,
  );
}

/**
 * Names of the trace events a binary knows (`-trace help`), so a run enables only events that
 * exist there (e.g. `vmstate_downtime_*`, QEMU 8.2+).
 */
export async function traceEventNames(install: Pick<QemuInstall, 'binary' | 'firmwareDir'>): Promise<Set<string>> {
  const args = [...(install.firmwareDir !== undefined ? ['-L', install.firmwareDir] : []), '-trace', 'help'];
  const out = await run(install.binary, args);
  return new Set(out.split('\n').map((l) => l.trim()).filter((l) => /^\w+$/.test(l)));
}

/**
 * Properties of a machine type (`-M <machine>,help`), e.g. `aux-ram-share` (10.0+); undefined
 * when the binary has no such machine type (QEMU then lists the ones it has instead).
 */
export async function machineProperties(install: Pick<QemuInstall, 'binary' | 'firmwareDir'>, machine: string): Promise<Set<string> | undefined> {
  const args = [...(install.firmwareDir !== undefined ? ['-L', install.firmwareDir] : []), '-M', `${machine},help`];
  const out = await run(install.binary, args);
  if (!/^\S+ options:$/m.test(out)) return undefined;
  return new Set([...out.matchAll(/^\s+([\w-]+)=/gm)].map((m) => m[1] ?? ''));
}
