/**
 * QEMU's own vhost-user back-end, `tests/vhost-user-bridge`: not packaged by Debian, so it comes
 * from a QEMU build folder the user names (`QEMUMigration.QEMUBuildFolder`) or from the one
 * scripts/setup-qemu10.sh builds into the cache (`<cache>/qemu-src/<version>/build/tests/`).
 * The lab, the tasks and the tests all find it here.
 */
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { createSocket, type Socket } from 'node:dgram';
import { join } from 'node:path';
import { workbenchCacheDir } from './installs';

export const bridgeRelativePath = join('tests', 'vhost-user-bridge');

export interface BridgeCandidate {
  readonly path: string;
  readonly origin: 'setting' | 'cache';
  /** The QEMU version of the cache's source tree it was built in. */
  readonly version?: string;
}

export type FoundBridge = BridgeCandidate;

export class BridgeNotFoundError extends Error {
  override readonly name = 'BridgeNotFoundError';
  constructor(readonly looked: readonly string[], cacheDir: string) {
    super(
      `tests/vhost-user-bridge was not found (looked at ${looked.length ? looked.join(', ') : 'nothing'}); ` +
        'set QEMUMigration.QEMUBuildFolder to a QEMU build folder that has it (ninja tests/vhost-user-bridge), ' +
        `or run scripts/setup.sh, which builds it into ${join(cacheDir, 'qemu-src', '<version>', 'build', bridgeRelativePath)}`,
    );
  }
}

const versionKey = (v: string): number[] => v.split('.').map((p) => Number.parseInt(p, 10) || 0);

function newestFirst(a: string, b: string): number {
  const x = versionKey(a);
  const y = versionKey(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (y[i] ?? 0) - (x[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Where to look, in order: each build folder (`<dir>/tests/vhost-user-bridge`, and
 * `<dir>/build/tests/vhost-user-bridge` for a source tree), then the cache's builds, newest first.
 */
export function bridgeCandidates(opts: { buildDirs?: readonly string[]; cacheDir?: string } = {}): BridgeCandidate[] {
  const out: BridgeCandidate[] = [];
  for (const d of opts.buildDirs ?? []) {
    out.push({ path: join(d, bridgeRelativePath), origin: 'setting' }, { path: join(d, 'build', bridgeRelativePath), origin: 'setting' });
  }
  const root = join(opts.cacheDir ?? workbenchCacheDir(), 'qemu-src');
  let versions: string[] = [];
  try {
    versions = readdirSync(root).filter((v) => /^\d+(\.\d+)*$/.test(v)).sort(newestFirst);
  } catch {
    // no source tree was set up
  }
  for (const version of versions) out.push({ path: join(root, version, 'build', bridgeRelativePath), origin: 'cache', version });
  return out;
}

function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first candidate that is an executable file; BridgeNotFoundError (naming every place looked at) otherwise. */
export function findVhostUserBridge(opts: { buildDirs?: readonly string[]; cacheDir?: string } = {}): FoundBridge {
  const candidates = bridgeCandidates(opts);
  const found = candidates.find((c) => isExecutableFile(c.path));
  if (found) return found;
  throw new BridgeNotFoundError(candidates.map((c) => c.path), opts.cacheDir ?? workbenchCacheDir());
}

/** Whether a UDP `host:port` can be bound now; the reason (EADDRINUSE...) when not. */
export function udpPortProblem(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    sock.once('error', (e: NodeJS.ErrnoException) => {
      sock.close();
      resolve(e.code === 'EADDRINUSE' ? `UDP ${host}:${port} is in use by another process` : `UDP ${host}:${port} cannot be bound: ${e.message}`);
    });
    sock.bind(port, host, () => sock.close(() => resolve(undefined)));
  });
}

/**
 * Ports the kernel has free on `host` now (bound to port 0, read, released), for the UDP sides of
 * bridges started by the workbench. Another process may take one before the bridge binds it; the
 * bridge then says `bind: Address already in use`.
 */
export async function pickFreeUdpPorts(host: string, count: number): Promise<number[]> {
  const socks = await Promise.all(Array.from({ length: count }, () => new Promise<Socket>((resolve, reject) => {
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    s.once('error', reject);
    s.bind(0, host, () => resolve(s));
  })));
  const ports = socks.map((s) => s.address().port);
  await Promise.all(socks.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}
