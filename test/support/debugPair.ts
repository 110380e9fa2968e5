// QEMU pairs for the debug adapter's protocol tests, on the installed QEMU 7.2 and 10.0 (found
// as the lab finds them): each QEMU in its own process group with its QMP socket and -D log in a private temporary
// folder; stop() ends the groups and removes the folder.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess } from '../../src/core/lab/process';
import { resolveQemu, type QemuInstall } from '../../src/core/qemu/installs';

export interface QemuBuild {
  /** `7.2`, `10.0`. */
  version: string;
  /** The install, or why there is none. */
  install: QemuInstall | undefined;
  problem: string;
}

/** The QEMU of a version among the installed ones (PATH, setup's cache), as the lab finds it. */
export async function qemuBuild(version: string): Promise<QemuBuild> {
  try {
    return { version, install: await resolveQemu(version), problem: '' };
  } catch (e) {
    return { version, install: undefined, problem: e instanceof Error ? e.message : String(e) };
  }
}

/** The versions the protocol tests run on. */
export const testedVersions = ['7.2', '10.0'] as const;

export interface PairQemu {
  socket: string;
  log: string;
  process: ManagedProcess;
}

export class DebugPair {
  private constructor(readonly dir: string, readonly source: PairQemu, readonly destination: PairQemu) {}

  /** A source and a destination (`-incoming defer`), named threads, `-D` logs with timestamps. */
  static async start(build: QemuInstall, name: string, extraArgs: string[] = []): Promise<DebugPair> {
    const dir = mkdtempSync(join(tmpdir(), `qmig-dap-${name}-`));
    const one = (side: 'src' | 'dst'): PairQemu => {
      const socket = join(dir, `${side}.sock`);
      const log = join(dir, `${side}.log`);
      const args = [
        ...(build.firmwareDir ? ['-L', build.firmwareDir] : []),
        '-name', `qmig-dap-${side},debug-threads=on`, '-M', 'pc', '-m', '128', '-display', 'none', '-nodefaults', '-no-user-config',
        '-accel', 'tcg', '-qmp', `unix:${socket},server=on,wait=off`, '-D', log, '-msg', 'timestamp=on',
        ...(side === 'dst' ? ['-incoming', 'defer'] : []), ...extraArgs,
      ];
      return { socket, log, process: new ManagedProcess(build.binary, args, { label: `${side} QEMU ${build.versionText}` }) };
    };
    const pair = new DebugPair(dir, one('src'), one('dst'));
    const end = Date.now() + 20_000;
    for (const q of [pair.source, pair.destination]) {
      while (!existsSync(q.socket)) {
        if (q.process.hasExited || Date.now() > end) {
          await pair.stop();
          throw new Error(`${q.process.label} did not create ${q.socket}: ${q.process.exitDescription ?? 'timed out'} ${q.process.lastLines().join(' | ')}`);
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    return pair;
  }

  async stop(): Promise<void> {
    await Promise.all([this.source.process.stop(2000), this.destination.process.stop(2000)]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
