import type { LabResult } from './types';

/** Which process a failed step was about. */
export type LabSide = 'src' | 'dst';

/**
 * A lab run failed. The message names the step, the side and what to do; `result` is filled in by
 * runLab with what was recorded before the failure (scenario.json is written with status `failed`
 * or `aborted` either way).
 */
export class LabError extends Error {
  override readonly name: string = 'LabError';
  /** Filled in by runLab once teardown has finished. */
  result: LabResult | undefined;
  constructor(
    /** The step that failed, e.g. `start QEMU`, `migrate`. */
    readonly step: string,
    message: string,
    readonly side?: LabSide,
    options?: { cause?: unknown },
  ) {
    super(`${step}${side ? ` (${side})` : ''}: ${message}`, options);
  }
}

/** A program the lab needs is not installed or not at the configured path. */
export class LabMissingBinaryError extends LabError {
  override readonly name = 'LabMissingBinaryError';
  constructor(
    readonly binary: string,
    /** What the program is, e.g. `QEMU`. */
    readonly what: string,
    /** How to point the lab at another one, e.g. `--qemu PATH (LabOptions.qemuBinary)`. */
    readonly setting: string,
  ) {
    super(
      'check programs',
      `${what} binary '${binary}' was not found${binary.includes('/') ? '' : ' on PATH'} or is not executable; ` +
        `install it or set ${setting}`,
    );
  }
}

/** The run was aborted through its AbortSignal (e.g. Ctrl-C). */
export class LabAbortedError extends LabError {
  override readonly name = 'LabAbortedError';
  constructor(step: string) {
    super(step, 'aborted');
  }
}
