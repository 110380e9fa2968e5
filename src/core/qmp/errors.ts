/** A QMP error reply (`{"error": {"class", "desc"}}`) to one command. */
export class QmpError extends Error {
  override readonly name = 'QmpError';
  constructor(
    /** QMP error class, e.g. `GenericError`, `CommandNotFound`. */
    readonly errorClass: string,
    /** QEMU's human-readable description. */
    readonly description: string,
    /** The command that failed. */
    readonly command: string,
  ) {
    super(`${command}: ${errorClass}: ${description}`);
  }
}

/** Could not connect, the peer closed the connection, or the socket failed. */
export class QmpConnectionError extends Error {
  override readonly name = 'QmpConnectionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A command, the connection or an event wait did not finish in time. */
export class QmpTimeoutError extends Error {
  override readonly name = 'QmpTimeoutError';
  constructor(message: string, readonly timeoutMs?: number) {
    super(message);
  }
}

/** The peer does not speak QMP: bad greeting, a line that is not a JSON object, an oversized message. */
export class QmpProtocolError extends Error {
  override readonly name: string = 'QmpProtocolError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** An out-of-band command was requested on a connection that did not enable the `oob` capability. */
export class QmpOobUnavailableError extends Error {
  override readonly name = 'QmpOobUnavailableError';
  constructor(readonly command: string, readonly offered: readonly string[]) {
    super(
      `cannot run '${command}' out-of-band: this QMP connection did not enable the 'oob' capability ` +
        `(the greeting offered [${offered.join(', ')}])`,
    );
  }
}

/** Error from a signal's abort reason, keeping the reason when it already is an Error. */
export function abortError(signal: AbortSignal, what: string): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return reason;
  const e = new Error(`${what} aborted`);
  e.name = 'AbortError';
  return e;
}

/** A socket error as a user reads it. */
export function describeSocketError(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file (ENOENT); is QEMU running with -qmp unix:PATH,server=on,wait=off?';
    case 'ECONNREFUSED':
      return 'connection refused (ECONNREFUSED); nothing is listening there';
    case 'EACCES':
      return 'permission denied (EACCES)';
    case 'ENOTSOCK':
      return 'not a socket (ENOTSOCK)';
    default:
      return err.message;
  }
}

/** Same error class as `cause`, message prefixed with what was interrupted. */
export function reworded(cause: Error, prefix: string): Error {
  const message = `${prefix}: ${cause.message}`;
  if (cause instanceof QmpTimeoutError) return new QmpTimeoutError(message, cause.timeoutMs);
  if (cause instanceof QmpProtocolError) return new QmpProtocolError(message, { cause });
  if (cause instanceof QmpConnectionError) return new QmpConnectionError(message, { cause });
  const e = new Error(message, { cause });
  e.name = cause.name;
  return e;
}
