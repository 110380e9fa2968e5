// A back-end that died, told from every source there is: the QEMU trace (the messages, and the
// socket closing: `vhost_user_event chr: c0 got event: 4`), the back-end's own log (`PANIC: ...`)
// and QEMU's stderr (`unable to start vhost net: ... falling back on userspace virtio`). The death
// becomes one violation at the message it died on, with the reason quoted, each source's line, and
// the spec's own sentences.
import type { BackendSource, Citation, CheckResult, LoadedSpec, SourceRef, StderrSource, Violation } from './check';
import type { BackendLine } from './backendLog';
import { panicCause, type PanicCause } from './backendLog';
import type { ConnectionEvent, Flow, FlowMessage } from './flow';
import type { PassageId } from './passages';
import type { QemuStderrLine } from './qemuStderr';

export interface DiagnosisInputs {
  /** The checked trace's file name, for the sources of a violation (undefined: an editor buffer). */
  readonly traceFile?: string | undefined;
  readonly backend?: BackendSource | undefined;
  readonly stderr?: StderrSource | undefined;
}

const VIRTIO_F_VERSION_1 = 1n << 32n;

const traceText = (m: FlowMessage): string => `vhost_user_${m.isReply ? 'read' : 'write'} req:${m.id} flags:0x${(m.flags ?? 0).toString(16)}`;

/** The last OPENED before the messages' end and the first CLOSED after it: the back-end went away there. */
function disconnect(flow: Flow): ConnectionEvent | undefined {
  const events = flow.connectionEvents ?? [];
  let opened = false;
  for (const e of events) {
    if (e.kind === 'opened') opened = true;
    else if (e.kind === 'closed' && opened) return e;
  }
  return undefined;
}

/**
 * The requests the back-end may have died on: those after its last reply (a reply proves it was
 * alive) and before the socket closed, as indexes into the flow's messages.
 */
function silentWindow(flow: Flow, closedLine: number | undefined): number[] {
  const limit = closedLine ?? Infinity;
  let out: number[] = [];
  flow.messages.forEach((m, i) => {
    if (m.line > limit) return;
    if (m.isReply) out = [];
    else out.push(i);
  });
  return out;
}

/**
 * The request the back-end died on: the first of the window its reason names, else (sources that
 * disagree) the last request of that name before the window, else the window's first.
 */
function diedOn(flow: Flow, window: readonly number[], cause: PanicCause | undefined): number {
  const name = cause?.message;
  if (name === undefined) return window[0] ?? -1;
  const inWindow = window.find((i) => flow.messages[i]?.name === name);
  if (inWindow !== undefined) return inWindow;
  const end = window[0] ?? flow.messages.length;
  for (let i = end - 1; i >= 0; i--) {
    const m = flow.messages[i];
    if (m && !m.isReply && m.name === name) return i;
  }
  return window[0] ?? -1;
}

/** True when the request at `i` lies between POSTCOPY_LISTEN and POSTCOPY_END (postcopy listening). */
function inPostcopy(flow: Flow, i: number): boolean {
  let listening = false;
  for (let k = 0; k < i; k++) {
    const m = flow.messages[k];
    if (!m || m.isReply) continue;
    if (m.name === 'VHOST_USER_POSTCOPY_LISTEN') listening = true;
    else if (m.name === 'VHOST_USER_POSTCOPY_END') listening = false;
  }
  return listening;
}

/** True when an ADD_MEM_REG before `i`, while listening, already got its reply (a region's base): `i` is QEMU's acknowledgement. */
function followsRegionReply(flow: Flow, i: number): boolean {
  for (let k = i - 1; k > 0; k--) {
    const m = flow.messages[k];
    if (!m) continue;
    if (!m.isReply && m.name === 'VHOST_USER_POSTCOPY_LISTEN') return false;
    if (m.isReply && m.name === 'VHOST_USER_ADD_MEM_REG') return true;
  }
  return false;
}

function cite(spec: LoadedSpec, ids: readonly PassageId[]): Citation[] {
  const out: Citation[] = [];
  for (const id of ids) {
    const p = spec.passages[id];
    if (p) out.push({ sentence: p.text, specLine: p.line });
  }
  return out;
}


interface Finding {
  readonly rule: string;
  readonly message: string;
  readonly citations: Citation[];
  /** What to do about it (after the message and QEMU's fallback). */
  readonly advice?: string;
  readonly note?: string;
}

function explain(flow: Flow, spec: LoadedSpec, at: number, window: readonly number[], panic: BackendLine | undefined, cause: PanicCause | undefined): Finding {
  const died = at >= 0 ? flow.messages[at] : undefined;
  const quoted = panic ? `: the back-end said "${panic.text}"` : '';
  const name = died?.name ?? cause?.message;
  const fdsNamed = cause?.kind === 'fd-count' && cause.message === 'VHOST_USER_ADD_MEM_REG';
  if (fdsNamed && died?.name === 'VHOST_USER_ADD_MEM_REG' && inPostcopy(flow, at) && followsRegionReply(flow, at)) {
    return {
      rule: 'backend-died/postcopy-add-mem-reg-ack',
      message: `the back-end died on VHOST_USER_ADD_MEM_REG, the acknowledgement QEMU sends once it has the postcopy region bases (an empty message: a u64 0 payload and ${cause.fds === 0 ? 'no' : String(cause.fds)} file descriptor${cause.fds === 1 ? '' : 's'})${quoted}`,
      citations: cite(spec, ['add-mem-reg-one-fd', 'add-mem-reg-postcopy', 'set-mem-table-postcopy-ack']),
      note: 'The spec contradicts itself here: its ADD_MEM_REG entry says exactly one file descriptor comes with the message, and also that the postcopy rules of SET_MEM_TABLE apply to ADD_MEM_REG, under which the front-end acknowledges the replies with an empty message, which describes no region and so carries no file descriptor. QEMU follows the second rule; libvhost-user enforces the first before it looks for the acknowledgement, and gives up on the device.',
    };
  }
  if (fdsNamed) {
    return {
      rule: 'backend-died/add-mem-reg-fds',
      message: `the back-end died on VHOST_USER_ADD_MEM_REG, which came with ${cause.fds ?? '?'} file descriptors${quoted}`,
      citations: cite(spec, ['add-mem-reg-one-fd']),
    };
  }
  const legacyPayload = died?.name === 'VHOST_USER_SET_FEATURES' && died.u64 !== undefined && (died.u64 & VIRTIO_F_VERSION_1) === 0n;
  if (cause?.kind === 'legacy-virtio' || (legacyPayload && panic === undefined)) {
    return {
      rule: 'backend-died/legacy-virtio',
      message: `the back-end refused the guest's legacy virtio driver at VHOST_USER_SET_FEATURES${quoted || ` (features 0x${(died?.u64 ?? 0n).toString(16)} lack VIRTIO_F_VERSION_1)`}`,
      advice: 'libvhost-user serves only devices whose driver negotiated VIRTIO_F_VERSION_1 (virtio 1.0), and this guest drove the NIC through the legacy interface: give the guest a virtio 1.0 driver, and offer only the modern interface with -device virtio-net-pci,disable-legacy=on',
      citations: cite(spec, ['backend-may-close']),
    };
  }
  if (panic) {
    return {
      rule: 'backend-died',
      message: `the back-end died on ${name ?? 'the connection'}${quoted}`,
      citations: cite(spec, ['backend-may-close']),
    };
  }
  const last = flow.messages[window[window.length - 1] ?? -1];
  const label = (m: FlowMessage): string => `${m.name ?? `request ${m.id}`} (line ${m.line})`;
  const sent = died === undefined ? 'before QEMU sent anything' : last === undefined || last === died
    ? `after its last reply, while QEMU sent ${label(died)}`
    : `after its last reply, while QEMU sent ${label(died)} through ${label(last)}`;
  return {
    rule: 'backend-closed',
    message: `the back-end closed the connection ${sent}; its own log (--backend-log) would say why`,
    citations: cite(spec, ['backend-may-close']),
  };
}

/**
 * The violation for a back-end that died (a PANIC in its log, or the socket closed under QEMU), or
 * none. Violations the checker found after that point are consequences of the death and are dropped.
 */
export function diagnoseBackend(result: CheckResult, spec: LoadedSpec, inputs: DiagnosisInputs): CheckResult {
  const { flow } = result;
  const panic = inputs.backend?.log.panic;
  const closed = disconnect(flow);
  const withSources: CheckResult = { ...result, backend: inputs.backend, stderr: inputs.stderr };
  if (!panic && !closed) return withSources;
  const cause = panic?.reason !== undefined ? panicCause(panic.reason) : undefined;
  const window = silentWindow(flow, closed?.line);
  const at = diedOn(flow, window, cause);
  const died = at >= 0 ? flow.messages[at] : undefined;
  const finding = explain(flow, spec, at, window, panic, cause);

  const sources: SourceRef[] = [];
  if (died) sources.push({ source: 'qemu-trace', file: inputs.traceFile, line: died.line, text: traceText(died), role: 'the message the back-end died on' });
  if (closed) sources.push({ source: 'qemu-trace', file: inputs.traceFile, line: closed.line, text: `vhost_user_event chr: ${closed.chardev} got event: ${closed.event}`, role: 'CLOSED: the back-end closed the socket' });
  if (panic) sources.push({ source: 'backend-log', file: inputs.backend?.file, line: panic.line, text: panic.text, role: 'the back-end gave up on the device' });
  const after = closed?.line ?? died?.line ?? 0;
  const stderr: readonly QemuStderrLine[] = inputs.stderr?.lines ?? [];
  const fallback = stderr.find((l) => l.kind === 'vhost-fallback');
  const firstFailure = stderr.find((l) => l.kind === 'vhost-request-failed');
  if (firstFailure) sources.push({ source: 'qemu-stderr', file: inputs.stderr?.file, line: firstFailure.line, text: firstFailure.message, role: 'QEMU could not complete a request' });
  if (fallback) sources.push({ source: 'qemu-stderr', file: inputs.stderr?.file, line: fallback.line, text: fallback.message, role: 'QEMU stopped using the back-end' });

  const first = finding.citations[0];
  const violation: Violation = {
    rule: finding.rule,
    line: died?.line ?? closed?.line ?? panic?.line ?? 0,
    ...(died || closed ? {} : { file: inputs.backend?.file }),
    message: `${finding.message}${fallback ? '; QEMU fell back to userspace virtio' : ''}${finding.advice ? `. ${finding.advice}` : ''}`,
    sentence: first?.sentence ?? '',
    specLine: first?.specLine ?? 0,
    sources,
    citations: finding.citations,
    ...(finding.note ? { note: finding.note } : {}),
  };
  const before = result.violations.filter((v) => after === 0 || v.line < (died?.line ?? after));
  return { ...withSources, violations: [...before, violation] };
}
