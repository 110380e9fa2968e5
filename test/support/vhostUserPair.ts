// A source and a destination QEMU whose virtio-net devices are served by QEMU's own
// tests/vhost-user-bridge (one bridge per QEMU), built from the lab's command lines: shared memfd
// RAM, a modern-only device, the lab's guest driving the NIC through virtio 1.0 on the source
// (the destination waits in -incoming defer). Each QEMU has a second QMP socket, so a test can
// ask QEMU itself while a debug session holds the first. Every process in its own group, every
// file in a private folder; stop() ends them and removes it.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bridgeArgs, lineBuffered, qemuArgs } from '../../src/core/lab/commandLines';
import { buildGuest, guestCommandLine, guestVirtioModernMarker } from '../../src/core/lab/guest';
import { findExecutable, ManagedProcess } from '../../src/core/lab/process';
import { findVhostUserBridge, pickFreeUdpPorts } from '../../src/core/qemu/bridge';
import type { QemuInstall } from '../../src/core/qemu/installs';
import { waitFor } from './processes';

export interface VhostUserQemu {
  /** The QMP socket for the session under test. */
  socket: string;
  /** A second QMP socket of the same QEMU, for the test's own questions. */
  checkSocket: string;
  bridgeLog: string;
  qemu: ManagedProcess;
  bridge: ManagedProcess;
}

export class VhostUserPair {
  private constructor(readonly dir: string, readonly source: VhostUserQemu, readonly destination: VhostUserQemu) {}

  static async start(install: QemuInstall, name: string): Promise<VhostUserPair> {
    const dir = mkdtempSync(join(tmpdir(), `qmig-vu-${name}-`));
    const kernel = join(dir, 'guest.bin');
    const started: ManagedProcess[] = [];
    try {
      await buildGuest('nasm', kernel);
      const bridgeBin = findVhostUserBridge().path;
      const one = async (side: 'src' | 'dst'): Promise<VhostUserQemu> => {
        const vhostSocket = join(dir, `${side}-vhost-user.sock`);
        const bridgeLog = join(dir, `${side}-bridge.log`);
        const [local, remote] = await pickFreeUdpPorts('127.0.0.1', 2);
        const cmd = lineBuffered(bridgeBin, bridgeArgs({ socket: vhostSocket, local: `127.0.0.1:${local}`, remote: `127.0.0.1:${remote}` }), findExecutable('stdbuf'));
        const bridge = new ManagedProcess(cmd.binary, cmd.args, { label: `${side} vhost-user-bridge`, logFile: bridgeLog });
        started.push(bridge);
        // The bridge serves one connection, once it listens: start QEMU after it.
        await waitFor(`${side} bridge's socket ${vhostSocket}`, 30_000, () => {
          if (bridge.hasExited) throw new Error(`${side} vhost-user-bridge ${bridge.exitDescription ?? ''}: ${readFileSync(bridgeLog, 'utf8')}`);
          return existsSync(vhostSocket) ? true : undefined;
        });
        const socket = join(dir, `${side}.sock`);
        const checkSocket = join(dir, `${side}-check.sock`);
        const args = qemuArgs({
          side,
          memoryMiB: 128,
          ramBackend: { kind: 'memfd' },
          accelerators: ['tcg'],
          kernel,
          append: guestCommandLine({ rateMiBps: 1, zeroSixteenths: 4, regionMiB: 8, virtio: 1 }),
          qmpSocket: socket,
          extraQmpSockets: [checkSocket],
          traceFile: join(dir, `${side}-trace.log`),
          traceEvents: [],
          debugconFile: join(dir, `${side}-guest.log`),
          vhostUserSocket: vhostSocket,
          virtioModernOnly: true,
          incoming: side === 'dst',
          ...(install.firmwareDir !== undefined ? { firmwareDir: install.firmwareDir } : {}),
        });
        const qemu = new ManagedProcess(install.binary, args, { label: `${side} QEMU ${install.versionText}` });
        started.push(qemu);
        await waitFor(`${side} QEMU's QMP sockets`, 30_000, () => {
          if (qemu.hasExited) throw new Error(`${qemu.label} ${qemu.exitDescription ?? ''}: ${qemu.lastLines().join(' | ')}`);
          return existsSync(socket) && existsSync(checkSocket) ? true : undefined;
        });
        return { socket, checkSocket, bridgeLog, qemu, bridge };
      };
      const destination = await one('dst');
      const source = await one('src');
      return new VhostUserPair(dir, source, destination);
    } catch (e) {
      await Promise.all(started.map((p) => p.stop(2000)));
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** The source's guest has brought its NIC up (its driver set DRIVER_OK). */
  guestDriverReady(): boolean {
    try {
      return readFileSync(join(this.dir, 'src-guest.log'), 'utf8').includes(guestVirtioModernMarker);
    } catch {
      return false;
    }
  }

  async stop(): Promise<void> {
    const all = [this.source, this.destination];
    await Promise.all(all.map((q) => q.qemu.stop(2000)));
    await Promise.all(all.map((q) => q.bridge.stop(2000)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
