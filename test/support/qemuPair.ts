// Real QEMU processes for the QMP monitor tests: each in its own process group, on sockets in
// a private temporary folder, ended by process-group id and removed in teardown.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const qemuBin = process.env.QEMU_BINARY ?? 'qemu-system-x86_64';

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
    const args = [
      '-name', `qmig-test-${o.name}`, '-M', 'pc', '-m', String(o.memoryMiB ?? 128), '-display', 'none', '-nodefaults', '-no-user-config',
      ...(o.accelerators ?? ['kvm', 'tcg']).flatMap((a) => ['-accel', a]), '-qmp', `unix:${socket},server=on,wait=off`,
      ...(o.secondMonitor ? ['-qmp', `unix:${join(dir, `${o.name}-2.sock`)},server=on,wait=off`] : []),
      ...(o.incoming ? ['-incoming', 'defer'] : []),
      ...(o.extraArgs ?? []),
    ];
    const child = spawn(qemuBin, args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
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
