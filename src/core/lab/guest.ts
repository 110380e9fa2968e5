import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from './errors';

/** What the lab guest (guest/dirty.asm) is told on its multiboot command line. */
export interface GuestSettings {
  /** MiB/s of pages written after the initial fill. */
  rateMiBps: number;
  /** Sixteenths of the region that are never written (0..15). */
  zeroSixteenths: number;
  /** Size of the written region, MiB. */
  regionMiB: number;
  /** The virtio-net driver the guest runs: 1 virtio 1.0, 2 legacy; absent or 0 none. */
  virtio?: 0 | 1 | 2;
}

/** The line the guest prints on the debug console once its region is filled. */
export const guestReadyMarker = 'qmig-guest: ready';
/** Printed each time the guest's write cursor wraps around the region. */
export const guestSweepMarker = 'qmig-guest: sweep';
/** Printed once the guest's virtio 1.0 driver set DRIVER_OK on the NIC (`virtio=1`). */
export const guestVirtioModernMarker = 'qmig-guest: virtio-net modern DRIVER_OK';
/** Printed when the guest takes a CPU exception (it then halts). */
export const guestExceptionMarker = 'qmig-guest: exception';

/** Converts a zero-page share (0..1) to the guest's sixteenths, rounding to the nearest. */
export function zeroShareToSixteenths(share: number): number {
  if (!Number.isFinite(share) || share < 0 || share > 15 / 16) {
    throw new RangeError(`zeroShare must be between 0 and 0.9375 (15/16), got ${share}`);
  }
  return Math.round(share * 16);
}

/** The `-append` text for QEMU. Tokens are parsed by the guest, see guest/dirty.asm. */
export function guestCommandLine(s: GuestSettings): string {
  for (const [name, v] of [['rate', s.rateMiBps], ['size', s.regionMiB]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 65535) throw new RangeError(`guest ${name} must be an integer 0..65535, got ${v}`);
  }
  return `rate=${s.rateMiBps} zero=${s.zeroSixteenths} size=${s.regionMiB}${s.virtio ? ` virtio=${s.virtio}` : ''}`;
}

/**
 * The guest's assembly source. It ships as a file next to this module in the source tree; the CLI
 * bundle (dist/cli.js) finds it in the package's src/ folder.
 */
export function guestSourcePath(): string {
  const candidates = [
    join(__dirname, 'guest', 'dirty.asm'),
    join(__dirname, '..', 'src', 'core', 'lab', 'guest', 'dirty.asm'),
  ];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new LabError('build guest', `guest source dirty.asm not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** Assembles the guest with nasm into `outFile` (a flat multiboot image). */
export async function buildGuest(nasm: string, outFile: string, signal?: AbortSignal): Promise<string[]> {
  const args = ['-f', 'bin', '-o', outFile, guestSourcePath()];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(nasm, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? { signal } : {}) });
    let output = '';
    child.stdout.on('data', (b: Buffer) => { output += b.toString('utf8'); });
    child.stderr.on('data', (b: Buffer) => { output += b.toString('utf8'); });
    child.once('error', (e) => reject(new LabError('build guest', `could not run ${nasm}: ${e.message}`)));
    child.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new LabError('build guest', `${nasm} ${args.join(' ')} exited with status ${code}:\n${output.trim()}`));
    });
  });
  return [nasm, ...args];
}
