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
  /** Aborted on SIGINT/SIGTERM so long-running commands can clean up. */
  readonly signal: AbortSignal;
  readonly isTty: boolean;
}

/** Thrown for bad command-line usage; main prints the message and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
