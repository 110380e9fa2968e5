/**
 * What a task's terminal says besides the processes' own output: a line when it starts, one when
 * it is ready, and one per problem found in the output, located at the file and line of the log
 * that holds it. The `$qemu-migration` problem matcher (package.json) reads exactly these lines;
 * its patterns are the ones below (a unit test keeps them equal).
 */
import { classifyBackendLine } from '../vhostuser/backendLog';
import { classifyQemuLine } from '../vhostuser/qemuStderr';
import type { OutputSource } from './plan';

export type ProblemSeverity = 'error' | 'warning' | 'info';

export interface OutputProblem {
  readonly severity: ProblemSeverity;
  readonly message: string;
}

/**
 * The problems in one output line: libvhost-user `PANIC: ...`, a bridge's failed call (`bind:
 * Address already in use`), QEMU's error reports (with or without the `-msg timestamp=on` time)
 * and its fallback from the vhost-user back-end to userspace virtio.
 */
export function problemInLine(source: OutputSource, line: string): OutputProblem | undefined {
  if (source === 'bridge' || source === 'testpmd') {
    const c = classifyBackendLine(line);
    if (c?.kind === 'panic') return { severity: 'error', message: `the back-end gave up on the device: PANIC: ${c.reason ?? ''}` };
    if (c?.kind === 'error') {
      const hint = /Address already in use/.test(c.reason ?? '') ? ' (another process holds this address: pick another socket or port)' : '';
      return { severity: 'error', message: `${c.reason ?? ''}${hint}` };
    }
    if (source === 'bridge') return undefined;
  }
  const q = classifyQemuLine(line);
  if (!q || q.severity === 'info') return undefined;
  if (q.kind === 'vhost-fallback') return { severity: 'warning', message: `QEMU stopped using its vhost-user back-end: ${q.message}` };
  return { severity: q.severity, message: `${q.program}: ${q.message}` };
}

export const LINE_PREFIX = 'qemu-migration:';

/** `qemu-migration: /abs/dst-bridge.log:11: error: PANIC: ...` */
export function problemLine(file: string, line: number, p: OutputProblem): string {
  return `${LINE_PREFIX} ${file}:${line}: ${p.severity}: ${p.message}`;
}

export function startingLine(what: string): string {
  return `${LINE_PREFIX} starting ${what}`;
}

export function readyLine(what: string): string {
  return `${LINE_PREFIX} ready: ${what}`;
}

export function endedLine(what: string): string {
  return `${LINE_PREFIX} ended: ${what}`;
}

/** The problem pattern of the `$qemu-migration` matcher: file 1, line 2, severity 3, message 4. */
export const PROBLEM_PATTERN = '^qemu-migration: (/.*?):(\\d+): (error|warning|info): (.*)$';
/** Background tasks: active from this line ... */
export const BEGINS_PATTERN = '^qemu-migration: starting ';
/** ... until ready (the workbench's line, or the bridge's own). */
export const ENDS_PATTERN = '^(qemu-migration: (ready|ended): |Waiting for data from udp backend on )';
