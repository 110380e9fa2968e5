/**
 * The pair a `launch` starts: the migration lab's guest in a source and a destination QEMU
 * (`-incoming defer`) on this host, with QMP sockets and `-D` logs in a private temporary folder
 * named like the lab's runs (so the Connections view offers them). Each QEMU runs in its own
 * process group and is ended by it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { qemuArgs } from '../../core/lab/commandLines';
import { checkUnixSocketPath } from '../../core/qmp/socketPath';
import { buildGuest, guestCommandLine } from '../../core/lab/guest';
import { ManagedProcess, findExecutable } from '../../core/lab/process';
import { describeInstall, resolveQemu } from '../../core/qemu/installs';
import { fileExists, pollUntil } from '../../core/lab/wait';
import type { LabPairSettings, SideName } from '../config';

export interface LabPairSide {
  socket: string;
  log: string;
  process: ManagedProcess;
}

export class LabPair {
  private constructor(readonly dir: string, readonly sides: Record<SideName, LabPairSide>) {}

  static async start(s: LabPairSettings, timeoutMs: number, signal: AbortSignal, log: (line: string) => void): Promise<LabPair> {
    // A version (`7.2`, `10.0`) picks among the installed QEMUs; anything else is a program.
    const install = await resolveQemu(s.qemu);
    const qemu = install.binary;
    const dataDir = s.qemuDataDir ?? install.firmwareDir;
    log(`lab pair on ${describeInstall(install)}`);
    const nasm = findExecutable('nasm');
    if (!nasm) throw new Error('nasm was not found: it assembles the lab guest (apt-get install nasm)');
    const dir = await mkdtemp(join(tmpdir(), 'qmig-lab-debug-'));
    const started: Partial<Record<SideName, LabPairSide>> = {};
    try {
      const kernel = join(dir, 'dirty.bin');
      await buildGuest(nasm, kernel, signal);
      for (const side of ['destination', 'source'] as const) {
        const short = side === 'source' ? 'src' : 'dst';
        const socket = join(dir, `${short}-qmp.sock`);
        checkUnixSocketPath(socket, 'QMP socket in the temporary folder (TMPDIR)');
        const logFile = join(dir, `${short}-trace.log`);
        const args = qemuArgs({
          side: short,
          memoryMiB: s.memoryMiB,
          accelerators: s.accelerators,
          kernel,
          append: guestCommandLine({ rateMiBps: s.dirtyRateMiBps, zeroSixteenths: 4, regionMiB: Math.min(64, Math.floor(s.memoryMiB / 4)) }),
          qmpSocket: socket,
          traceFile: logFile,
          traceEvents: s.traceEvents,
          debugconFile: join(dir, `${short}-debugcon.log`),
          incoming: side === 'destination',
        });
        if (dataDir !== undefined) args.unshift('-L', dataDir);
        const process = new ManagedProcess(qemu, args, { label: `${side} QEMU` });
        log(`started ${side} QEMU (pid ${process.pid ?? '?'}): ${JSON.stringify([qemu, ...args])}`);
        started[side] = { socket, log: logFile, process };
        await pollUntil(() => fileExists(socket), {
          timeoutMs,
          signal,
          stillAlive: () => {
            const how = process.exitDescription;
            if (how !== undefined) throw new Error(`${side} QEMU ${how}: ${process.lastLines().slice(-5).join(' | ')}`);
          },
          onTimeout: () => new Error(`${side} QEMU did not create ${socket} within ${timeoutMs} ms`),
        });
      }
      return new LabPair(dir, started as Record<SideName, LabPairSide>);
    } catch (e) {
      await Promise.all(Object.values(started).map((p) => p.process.stop(1000)));
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Ends both process groups and removes the folder. */
  async stop(): Promise<void> {
    await Promise.all(Object.values(this.sides).map((p) => p.process.stop(2000)));
    await rm(this.dir, { recursive: true, force: true });
  }
}
