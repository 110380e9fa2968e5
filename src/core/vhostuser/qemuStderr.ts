// QEMU's own error output (error_report / warn_report): `qemu-system-x86_64: <message>`, with
// `-msg timestamp=on` prefixed by an ISO time (`2026-12-02T00:45:22.317755Z `). The lines that tell
// what happened to a vhost-user back-end are classified; the rest are kept as plain errors.
import { cleanLine } from './backendLog';

export type QemuStderrKind =
  /** `unable to start vhost net: N: falling back on userspace virtio` */
  | 'vhost-fallback'
  /** A vhost-user request QEMU could not complete (write, read, fds, a vhost_* call failing). */
  | 'vhost-request-failed'
  /** `-chardev socket,...: Failed to connect to 'PATH': ...`: no back-end listening. */
  | 'chardev'
  | 'other';

export interface QemuStderrLine {
  /** 1-based line in the file. */
  readonly line: number;
  /** The `-msg timestamp=on` time, when present. */
  readonly time: string | undefined;
  /** The program name QEMU prints (the basename of its argv[0]). */
  readonly program: string;
  readonly message: string;
  readonly severity: 'error' | 'warning' | 'info';
  readonly kind: QemuStderrKind;
  /** The whole line (control characters removed). */
  readonly text: string;
}

export type QemuLineClass = Omit<QemuStderrLine, 'line'>;

const PREFIX = /^(?:(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) )?(qemu-system-[A-Za-z0-9_-]+|qemu-[A-Za-z0-9_-]+|qemu): (.*)$/;

const KINDS: readonly [RegExp, QemuStderrKind][] = [
  [/unable to start vhost net: -?\d+: falling back on userspace virtio/, 'vhost-fallback'],
  [/^(Failed to (write|read) msg|Failed to set msg fds|Failed to send \S+ to vhost|Failed to get \S+ reply|Failed to receive reply|Received unexpected msg type|Received bad msg size|Unexpected end-of-file before all data were read|vhost[_ ]\S+ failed|vhost_user_\S+:)/, 'vhost-request-failed'],
  [/^-chardev socket.*: Failed to connect to /, 'chardev'],
];

/** Classifies one stderr line of QEMU; undefined for lines that are not QEMU's error reports. */
export function classifyQemuLine(raw: string): QemuLineClass | undefined {
  const text = cleanLine(raw);
  const m = PREFIX.exec(text);
  if (!m) return undefined;
  let message = m[3] ?? '';
  let severity: QemuLineClass['severity'] = 'error';
  const level = /^(warning|info): (.*)$/.exec(message);
  if (level?.[2] !== undefined) {
    severity = level[1] === 'warning' ? 'warning' : 'info';
    message = level[2];
  }
  // QEMU reports the signal that ends it as an error, though nothing went wrong.
  if (/^terminating on signal \d+/.test(message)) severity = 'info';
  const kind = KINDS.find(([re]) => re.test(message))?.[1] ?? 'other';
  return { time: m[1], program: m[2] ?? 'qemu', message, severity, kind, text };
}

/** Every error report of a QEMU stderr file, in line order. */
export function parseQemuStderr(text: string): QemuStderrLine[] {
  const out: QemuStderrLine[] = [];
  let n = 0;
  for (const raw of text.split('\n')) {
    n++;
    const c = classifyQemuLine(raw);
    if (c) out.push({ ...c, line: n });
  }
  return out;
}
