/** One `qmig` subcommand. Each lives in src/cli/commands/<name>.ts and is listed in src/cli/commands/index.ts. */
export interface CliCommand {
  /** The word after `qmig` (e.g. "qmp", "lab", "trace"). */
  readonly name: string;
  /** One line for `qmig --help`. */
  readonly summary: string;
  /** Full help text printed for `qmig <name> --help`. */
  readonly help: string;
  /** Runs the command with the arguments after its name; resolves to the process exit code. */
  run(args: string[], io: CliIo): Promise<number>;
}

/** Where a command writes; tests pass their own. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /**
   * Terminal control sequences written as they are (the live view's redraw). main() gives
   * commands an io whose out and err escape control characters and whose control writes raw.
   */
  control?(sequence: string): void;
  /** Aborted on SIGINT/SIGTERM (the reason a CliInterrupt) so long-running commands can clean up. */
  readonly signal: AbortSignal;
  readonly isTty: boolean;
}

/** Thrown for bad command-line usage; main prints the message and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The abort reason of CliIo.signal when a signal arrives. */
export class CliInterrupt extends Error {
  override readonly name = 'CliInterrupt';
  constructor(readonly signalName: 'SIGINT' | 'SIGTERM') {
    super(`interrupted by ${signalName}`);
  }
}

/** Exit status after an interrupt: 130 for SIGINT (Ctrl-C), 143 for SIGTERM, as shells report them. */
export function interruptedExitCode(signal: AbortSignal): number {
  const reason: unknown = signal.reason;
  return reason instanceof CliInterrupt && reason.signalName === 'SIGTERM' ? 143 : 130;
}
