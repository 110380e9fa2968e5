// What a vhost-user back-end says about itself: the output of QEMU's tests/vhost-user-bridge and of
// other libvhost-user back-ends (listening, the UDP side ready, QEMU connected, sockets dropped from
// its dispatcher, `PANIC: <reason>` when libvhost-user gives up on the device, perror() lines such
// as `bind: Address already in use`). One line at a time, so a running task and a check of a saved
// log read it the same way.

export type BackendLineKind = 'listening' | 'ready' | 'connected' | 'socket-removed' | 'panic' | 'error';

export interface BackendLine {
  /** 1-based line in the log. */
  readonly line: number;
  readonly kind: BackendLineKind;
  /** The line as printed (trailing blanks and control characters removed). */
  readonly text: string;
  /** `panic` and `error`: what the back-end said went wrong. */
  readonly reason?: string | undefined;
  /** `listening`: the unix socket path; `ready`: the UDP `host:port`. */
  readonly address?: string | undefined;
  /** `connected` and `socket-removed`: the file descriptor number. */
  readonly fd?: number | undefined;
}

export interface BackendLog {
  readonly lines: readonly BackendLine[];
  /** The first PANIC line: libvhost-user marked the device broken there. */
  readonly panic: BackendLine | undefined;
}

export type BackendLineClass = Omit<BackendLine, 'line' | 'text'>;

// Format strings of tests/vhost-user-bridge.c and subprojects/libvhost-user (facts, not code).
const PATTERNS: readonly [RegExp, (m: RegExpExecArray) => BackendLineClass][] = [
  [/^PANIC: (.*)$/, (m) => ({ kind: 'panic', reason: m[1] ?? '' })],
  [/^Waiting for connections on UNIX socket (.*?) \.\.\.$/, (m) => ({ kind: 'listening', address: m[1] })],
  [/^Waiting for data from udp backend on (\S+?)\.\.\.$/, (m) => ({ kind: 'ready', address: m[1] })],
  [/^Got connection from remote peer on sock (\d+)$/, (m) => ({ kind: 'connected', fd: Number(m[1]) })],
  [/^Sock (\d+) removed from dispatcher watch\.$/, (m) => ({ kind: 'socket-removed', fd: Number(m[1]) })],
  // vubr_die(): perror() of the call that failed, e.g. "bind: Address already in use".
  [/^(bind|connect|listen|socket|accept\(\)|select|recvmsg\(\)|sendmsg\(\)): (.+)$/, (m) => ({ kind: 'error', reason: `${m[1] ?? ''}: ${m[2] ?? ''}` })],
  [/^(Failed to initialize libvhost-user|unix domain socket path '.*' is too long|[lr]port parsing failed\.)$/, (m) => ({ kind: 'error', reason: m[1] ?? '' })],
  [/^Usage: \S*vhost-user-bridge /, () => ({ kind: 'error', reason: 'the bridge did not accept its options (it printed its usage)' })],
];

/** Control characters other than tab are dropped: a log is shown as text, never interpreted. */
export function cleanLine(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '').trimEnd();
}

/** Classifies one output line of a back-end; undefined for lines that say nothing about its state. */
export function classifyBackendLine(raw: string): BackendLineClass | undefined {
  const text = cleanLine(raw);
  for (const [re, make] of PATTERNS) {
    const m = re.exec(text);
    if (m) return make(m);
  }
  return undefined;
}

/** The state lines of a whole back-end log (stdout and stderr together, as a task records them). */
export function parseBackendLog(text: string): BackendLog {
  const lines: BackendLine[] = [];
  let panic: BackendLine | undefined;
  let n = 0;
  for (const raw of text.split('\n')) {
    n++;
    const c = classifyBackendLine(raw);
    if (!c) continue;
    const l: BackendLine = { ...c, line: n, text: cleanLine(raw) };
    lines.push(l);
    if (l.kind === 'panic' && !panic) panic = l;
  }
  return { lines, panic };
}

/** True when a text looks like a back-end's own log (so a check can tell it from a flow source). */
export function looksLikeBackendLog(text: string): boolean {
  const head = text.slice(0, 1 << 20);
  return /^(PANIC: |Waiting for connections on UNIX socket |Waiting for data from udp backend on |Got connection from remote peer on sock )/m.test(head);
}

/** Which message a libvhost-user PANIC reason is about, and what kind of refusal it is. */
export interface PanicCause {
  /** VHOST_USER_* name, when the reason names or implies one. */
  readonly message: string | undefined;
  readonly kind: 'legacy-virtio' | 'fd-count' | 'payload' | 'postcopy' | 'connection' | 'other';
  /** `fd-count`: the number of file descriptors the back-end says it received. */
  readonly fds?: number | undefined;
}

// libvhost-user's vu_panic() reasons that do not name their message (facts of its format strings).
const IMPLIED: readonly [RegExp, string | undefined, PanicCause['kind']][] = [
  [/^virtio legacy devices aren't supported/, 'VHOST_USER_SET_FEATURES', 'legacy-virtio'],
  [/^Invalid vring_addr message/, 'VHOST_USER_SET_VRING_ADDR', 'payload'],
  [/^Invalid vring_enable index/, 'VHOST_USER_SET_VRING_ENABLE', 'payload'],
  [/^Invalid log_base message/, 'VHOST_USER_SET_LOG_BASE', 'payload'],
  [/^Invalid log_fd message/, 'VHOST_USER_SET_LOG_FD', 'fd-count'],
  [/^Invalid backend_req_fd message/, 'VHOST_USER_SET_BACKEND_REQ_FD', 'fd-count'],
  [/^Invalid get_inflight_fd message/, 'VHOST_USER_GET_INFLIGHT_FD', 'payload'],
  [/^Invalid set_inflight_fd message/, 'VHOST_USER_SET_INFLIGHT_FD', 'payload'],
  [/^Specified region not found/, 'VHOST_USER_REM_MEM_REG', 'payload'],
  [/^Set virtio configuration space failed/, 'VHOST_USER_SET_CONFIG', 'payload'],
  [/^(Userfaultfd not available|Failed UFFDIO_API)/, 'VHOST_USER_POSTCOPY_ADVISE', 'postcopy'],
  [/^Regions already registered at postcopy-listen/, 'VHOST_USER_POSTCOPY_LISTEN', 'postcopy'],
  [/set-mem-table for postcopy|postcopy set-mem-table/, 'VHOST_USER_SET_MEM_TABLE', 'postcopy'],
  [/^(Error while (recvmsg|reading|writing)|Invalid fds in request)/, undefined, 'connection'],
];

export function panicCause(reason: string): PanicCause {
  const fds = /^(VHOST_USER_[A-Z0-9_]+) received (\d+) fds?\b/.exec(reason);
  if (fds?.[1]) return { message: fds[1], kind: 'fd-count', fds: Number(fds[2]) };
  for (const [re, message, kind] of IMPLIED) if (re.test(reason)) return { message, kind };
  const named = /\b(VHOST_USER_[A-Z0-9_]*[A-Z0-9])\b/.exec(reason);
  return { message: named?.[1], kind: named ? 'payload' : 'other' };
}
