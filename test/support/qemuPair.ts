// Real QEMU processes for the QMP monitor tests: each in its own process group, on sockets in
// a private temporary folder, ended by process-group id and removed in teardown.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { checkUnixSocketPath } from '../../src/core/qmp/socketPath';
import { findQemuInstalls, type QemuInstall } from '../../src/core/qemu/installs';
import { requireComponent } from './components';
import { QmpClient } from '../../src/core/qmp/client';
import { MigrationMonitor } from '../../src/core/monitor/monitor';

export const qemuBin = process.env.QEMU_BINARY ?? 'qemu-system-x86_64';

/** The QEMU versions the tests run against: Debian's 7.2 on PATH and the 10.0.2 setup.sh unpacks into the cache. */
export type TestQemuVersion = '7.2' | '10.0';

let found: Promise<QemuInstall[]> | undefined;

/** The installed QEMU of a version (the core's view of this machine), or undefined. */
export async function installedQemu(version: TestQemuVersion): Promise<QemuInstall | undefined> {
  found ??= findQemuInstalls().then((f) => f.installs);
  const [major, minor] = version.split('.').map(Number);
  return (await found).find((i) => i.version.major === major && i.version.minor === minor);
}

/**
 * The QEMU of a version for a test that needs it: skipped locally when it is missing, a failure
 * with CI=true (scripts/setup.sh installs both).
 */
export async function needQemu(t: TestContext, version: TestQemuVersion): Promise<QemuInstall | undefined> {
  const q = await installedQemu(version);
  return requireComponent(t, `QEMU ${version}`, q !== undefined) ? q : undefined;
}

export interface QemuOptions {
  /** Folder holding the QMP socket; default a fresh temporary folder (removed by stop). */
  dir?: string;
  name: string;
  incoming?: boolean;
  memoryMiB?: number;
  extraArgs?: string[];
  /** Default kvm then tcg. */
  accelerators?: string[];
  /** A second QMP monitor on `<name>-2.sock` (QEMU serves one client per socket). */
  secondMonitor?: boolean;
  /** Which QEMU runs (binary and firmware folder); default qemuBin. */
  install?: QemuInstall;
  /** `-M` value; default `pc`. */
  machine?: string;
}

export class TestQemu {
  private stderrText = '';
  readonly exited: Promise<void>;
  private constructor(readonly dir: string, readonly socket: string, readonly child: ChildProcess, private readonly ownsDir: boolean) {
    child.stderr?.setEncoding('utf8').on('data', (t: string) => {
      this.stderrText += t;
    });
    this.exited = new Promise<void>((r) => {
      if (child.exitCode !== null || child.signalCode !== null) r();
      else child.once('exit', () => r());
    });
  }

  static start(o: QemuOptions): TestQemu {
    const ownsDir = o.dir === undefined;
    const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'qmig-mon-it-'));
    const socket = join(dir, `${o.name}.sock`);
    checkUnixSocketPath(join(dir, `${o.name}-2.sock`), 'test QMP socket');
    const args = [
      '-name', `qmig-test-${o.name}`,
      ...(o.install?.firmwareDir !== undefined ? ['-L', o.install.firmwareDir] : []),
      '-M', o.machine ?? 'pc', '-m', String(o.memoryMiB ?? 128), '-display', 'none', '-nodefaults', '-no-user-config',
      ...(o.accelerators ?? ['kvm', 'tcg']).flatMap((a) => ['-accel', a]), '-qmp', `unix:${socket},server=on,wait=off`,
      ...(o.secondMonitor ? ['-qmp', `unix:${join(dir, `${o.name}-2.sock`)},server=on,wait=off`] : []),
      ...(o.incoming ? ['-incoming', 'defer'] : []),
      ...(o.extraArgs ?? []),
    ];
    const child = spawn(o.install?.binary ?? qemuBin, args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    return new TestQemu(dir, socket, child, ownsDir);
  }

  get stderr(): string {
    return this.stderrText;
  }

  /** Resolves once the QMP socket exists (QEMU listens on it), rejects if QEMU exits first. */
  async ready(timeoutMs = 20_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!existsSync(this.socket)) {
      if (this.child.exitCode !== null) throw new Error(`QEMU exited (${this.child.exitCode}): ${this.stderrText}`);
      if (Date.now() > end) throw new Error(`QEMU did not create ${this.socket} in ${timeoutMs} ms: ${this.stderrText}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Ends the process group (TERM, then KILL after 5 s); removes the folder when it made it. */
  async stop(removeDir = true): Promise<void> {
    const pid = this.child.pid;
    if (pid !== undefined && this.child.exitCode === null && this.child.signalCode === null) {
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const ended = await Promise.race([this.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
      if (!ended) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
        await this.exited;
      }
    }
    rmSync(this.socket, { force: true });
    if (removeDir && this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A QEMU of the test, ready for QMP, stopped when the test ends. */
export async function started(t: TestContext, q: TestQemu): Promise<TestQemu> {
  t.after(() => q.stop());
  await q.ready();
  return q;
}

/** A migration monitor on the QEMU's QMP socket (fast polling), ended with its connection when the test ends. */
export async function monitor(t: TestContext, q: TestQemu, role: 'source' | 'destination' | 'none' = 'none'): Promise<MigrationMonitor> {
  const client = await QmpClient.connect(q.socket);
  const m = await MigrationMonitor.attach(client, { role, fastPollMs: 100 });
  t.after(async () => {
    m.dispose();
    await client.close();
  });
  return m;
}
