import type { SpecModel } from './model';
import type { Rule } from './rules';
import type { Flow, FlowMessage } from './flow';
import type { Passage, PassageId } from './passages';
import type { BackendLog } from './backendLog';
import type { QemuStderrLine } from './qemuStderr';
import { FLAG_NEED_REPLY, MessageNames } from './flow';
import type { Catalogue } from '../trace/catalogue';
import { looksLikeQemuTrace, readQemuTraceText } from './flowTraceStore';
import { diagnoseBackend, type DiagnosisInputs } from './diagnose';
import { looksLikeDpdkLog, looksLikeLibvhostUserLog, parseDpdkLog, parseLibvhostUserLog } from './flowDpdk';
import { looksLikeStrace, parseStrace } from './flowStrace';

export interface Violation {
  readonly rule: string;
  /** 1-based line in the checked file (or in `file`, when set). */
  readonly line: number;
  readonly message: string;
  /** The spec sentence the rule cites and its line in the spec document. */
  readonly sentence: string;
  readonly specLine: number;
  /** Set when the violation is located in another source than the checked file (a back-end log). */
  readonly file?: string | undefined;
  /** Where each source shows it (a back-end's death: the message, the disconnect, the PANIC, QEMU's error). */
  readonly sources?: readonly SourceRef[] | undefined;
  /** Every spec sentence the diagnosis rests on; the first is `sentence`. */
  readonly citations?: readonly Citation[] | undefined;
  /** What the reader should know besides the rule (e.g. that the spec contradicts itself there). */
  readonly note?: string | undefined;
}

/** One line of one source that shows part of a violation. */
export interface SourceRef {
  readonly source: 'qemu-trace' | 'backend-log' | 'qemu-stderr';
  /** The file, as given; undefined for the checked text itself. */
  readonly file: string | undefined;
  readonly line: number;
  readonly text: string;
  /** What the line shows, e.g. "the message it died on". */
  readonly role: string;
}

export interface Citation {
  readonly sentence: string;
  readonly specLine: number;
}

/** A rule that could not be decided because the source does not show what it needs. */
export interface Unknown {
  readonly rule: string;
  /** First line where it could not be decided. */
  readonly line: number;
  readonly count: number;
  readonly message: string;
}

export interface CheckResult {
  readonly flow: Flow;
  readonly messageCount: number;
  readonly violations: Violation[];
  readonly unknown: Unknown[];
  /** What the other sources said, when given (see diagnose.ts). */
  readonly backend?: BackendSource | undefined;
  readonly stderr?: StderrSource | undefined;
}

/** A back-end's own output beside the flow. */
export interface BackendSource {
  readonly file: string | undefined;
  readonly log: BackendLog;
}

/** QEMU's stderr beside the flow. */
export interface StderrSource {
  readonly file: string | undefined;
  readonly lines: readonly QemuStderrLine[];
}

/** The spec as the checker needs it: the model for names and bits, and the rules. */
export interface LoadedSpec {
  readonly model: SpecModel;
  readonly rules: readonly Rule[];
  /** Path of the document, or "built-in". */
  readonly source: string;
  /** Sentences a diagnosis quotes (see passages.ts), where the document has them. */
  readonly passages: Partial<Record<PassageId, Passage>>;
}

const VRING_NOFD = 1n << 8n;
const NOFD_MESSAGES = new Set(['VHOST_USER_SET_VRING_KICK', 'VHOST_USER_SET_VRING_CALL', 'VHOST_USER_SET_VRING_ERR']);
const QUEUE_FROM_U64 = new Set(['VHOST_USER_SET_VRING_KICK', 'VHOST_USER_SET_VRING_CALL', 'VHOST_USER_SET_VRING_ERR', 'VHOST_USER_VRING_KICK']);
const QUEUE_FROM_STATE = new Set(['VHOST_USER_GET_VRING_BASE', 'VHOST_USER_SET_VRING_BASE', 'VHOST_USER_SET_VRING_NUM', 'VHOST_USER_SET_VRING_ENABLE', 'VHOST_USER_SET_VRING_ADDR']);

function queueOf(m: FlowMessage): number | undefined {
  if (m.u64 === undefined || !m.name) return undefined;
  if (QUEUE_FROM_U64.has(m.name)) return Number(m.u64 & 0xffn);
  if (QUEUE_FROM_STATE.has(m.name)) return Number(m.u64 & 0xffffffffn);
  return undefined;
}

const hex = (v: bigint): string => `0x${v.toString(16)}`;

/** Checks one connection's message sequence against the rules. */
export function checkFlow(flow: Flow, spec: LoadedSpec): CheckResult {
  const { model } = spec;
  const violations: Violation[] = [];
  const unknown = new Map<string, { rule: string; line: number; count: number; message: string }>();
  const byMessage = new Map<string, Rule[]>();
  const flagRules: Rule[] = [];
  for (const r of spec.rules) {
    if (r.messages.length === 0 || r.kind === 'flag-needs-feature') { flagRules.push(r); continue; }
    // ring and before rules trigger on every message they name
    const triggers = r.kind === 'before' ? [r.messages[1]] : r.kind === 'ring-start-stop' || r.kind === 'once-per-queue' ? r.messages : [r.messages[0]];
    for (const t of triggers) {
      if (!t) continue;
      const list = byMessage.get(t) ?? [];
      list.push(r);
      byMessage.set(t, list);
    }
  }
  const bitOf = new Map<string, { bit: bigint; protocol: boolean }>();
  for (const f of model.protocolFeatures) bitOf.set(f.name, { bit: 1n << BigInt(f.bit), protocol: true });
  for (const f of model.virtioFeatures) bitOf.set(f.name, { bit: 1n << BigInt(f.bit), protocol: false });

  let virtioOffered: bigint | undefined;
  let protoNegotiated: bigint | undefined;
  const seen = new Set<string>();
  /** Index of the last request of each name (for rules that hold between two messages). */
  const lastSeen = new Map<string, number>();
  let index = 0;
  const ringStarted = new Map<number, boolean>();
  const once = new Map<string, Set<number>>();
  let pending: { m: FlowMessage; rules: Rule[] } | undefined;
  let lastRequest: FlowMessage | undefined;

  const violate = (r: Rule, line: number, message: string): void => {
    violations.push({ rule: r.id, line, message, sentence: r.sentence, specLine: r.line });
  };
  const unsure = (r: Rule, line: number, message: string): void => {
    const u = unknown.get(r.id);
    if (u) u.count++;
    else unknown.set(r.id, { rule: r.id, line, count: 1, message });
  };
  /** true/false when the feature state is visible, undefined otherwise. */
  const has = (name: string): boolean | undefined => {
    const b = bitOf.get(name);
    if (!b) return undefined;
    const v = b.protocol ? protoNegotiated : virtioOffered;
    return v === undefined ? undefined : (v & b.bit) !== 0n;
  };
  const featureText = (name: string): string => {
    const b = bitOf.get(name);
    const v = b?.protocol ? protoNegotiated : virtioOffered;
    return b?.protocol ? `negotiated protocol features ${v === undefined ? '?' : hex(v)}` : `features offered by GET_FEATURES ${v === undefined ? '?' : hex(v)}`;
  };
  const missingFeatures = (r: Rule, features: readonly string[], line: number, what: string): void => {
    const absent: string[] = [];
    let undecided = false;
    for (const f of features) {
      const h = has(f);
      if (h === undefined) undecided = true;
      else if (!h) absent.push(f);
    }
    if (absent.length) violate(r, line, `${what} without ${absent.join(' and ')} (${featureText(absent[0] ?? '')})`);
    else if (undecided) unsure(r, line, `${what}: the ${flow.format} does not show which features were negotiated`);
  };

  const closePending = (next: FlowMessage | undefined): void => {
    if (!pending) return;
    const p = pending;
    pending = undefined;
    if (!flow.visibility.replies) return;
    for (const r of p.rules) {
      if (next) violate(r, p.m.line, `${p.m.name ?? `request ${p.m.id}`} got no reply before ${next.name ?? `request ${next.id}`} (line ${next.line})`);
      else unsure(r, p.m.line, `${p.m.name ?? `request ${p.m.id}`}: the recording ends before its reply`);
    }
  };

  for (const m of flow.messages) {
    if (m.isReply) {
      // The first reply to the last request (one request is answered at a time on a connection).
      if (lastRequest && lastRequest.id === m.id) {
        for (const r of byMessage.get(m.name ?? '') ?? []) {
          if (r.kind !== 'reply-shape' || r.replySize === undefined) continue;
          if (m.size === undefined) unsure(r, m.line, `reply to ${m.name}: the ${flow.format} does not show payload sizes`);
          else if (m.size !== r.replySize) violate(r, m.line, `reply to ${m.name} carries ${m.size} payload bytes, expected ${r.replySize}`);
        }
        lastRequest = undefined;
        if (pending && pending.m.id === m.id) pending = undefined;
      }
      if (m.u64 !== undefined && m.name === 'VHOST_USER_GET_FEATURES') virtioOffered = m.u64;
      continue;
    }
    closePending(m);
    lastRequest = m;
    const name = m.name ?? '';
    const replyRules: Rule[] = [];
    for (const r of byMessage.get(name) ?? []) {
      switch (r.kind) {
        case 'needs-feature':
          missingFeatures(r, r.features, m.line, `${name} sent`);
          break;
        case 'after':
          if (r.messages[1] && !seen.has(r.messages[1])) violate(r, m.line, `${name} sent before any ${r.messages[1]}`);
          break;
        case 'before':
          if (r.messages[0] && !seen.has(r.messages[0])) violate(r, m.line, `${name} sent before any ${r.messages[0]}`);
          break;
        case 'reply-required': {
          if (r.during && (lastSeen.get(r.during[0]) ?? -1) <= (lastSeen.get(r.during[1]) ?? -1)) break;
          if (r.ifFeature) {
            const h = has(r.ifFeature);
            if (h === undefined) { unsure(r, m.line, `${name}: whether ${r.ifFeature} was negotiated is not visible`); break; }
            if (!h) break;
          }
          replyRules.push(r);
          break;
        }
        case 'fd-count': {
          if (!flow.visibility.fds || m.fds === undefined) { unsure(r, m.line, `${name}: the ${flow.format} does not show file descriptors`); break; }
          if (r.ifFeature) {
            const h = has(r.ifFeature);
            if (h === undefined) { unsure(r, m.line, `${name}: whether ${r.ifFeature} was negotiated is not visible`); break; }
            if (!h) break;
          }
          if (NOFD_MESSAGES.has(name) && m.u64 !== undefined && (m.u64 & VRING_NOFD) !== 0n) break;
          if (m.fds < (r.minFds ?? 1)) violate(r, m.line, `${name} carries ${m.fds} file descriptors, expected at least ${r.minFds ?? 1}`);
          break;
        }
        case 'feature-needs-feature': {
          if (m.u64 === undefined) { unsure(r, m.line, `${name}: payload not visible`); break; }
          const first = r.features[0] ? bitOf.get(r.features[0]) : undefined;
          if (!first || (m.u64 & first.bit) === 0n) break;
          const v = m.u64;
          const absent = r.features.slice(1).filter((f) => { const b = bitOf.get(f); return b !== undefined && (v & b.bit) === 0n; });
          if (absent.length) violate(r, m.line, `${name} sets ${r.features[0]} without ${absent.join(' and ')} (${hex(m.u64)})`);
          break;
        }
        case 'ring-start-stop': {
          const q = queueOf(m);
          if (q === undefined) { unsure(r, m.line, `${name}: queue index not visible`); break; }
          if (name === r.messages[0]) {
            if (!ringStarted.get(q)) violate(r, m.line, `${name} stops queue ${q}, which was never started`);
            ringStarted.set(q, false);
          } else {
            ringStarted.set(q, true);
          }
          break;
        }
        case 'once-per-queue': {
          const q = queueOf(m);
          const set = once.get(r.id) ?? new Set<number>();
          once.set(r.id, set);
          if (name !== r.messages[0]) { set.clear(); break; }
          if (q === undefined) { unsure(r, m.line, `${name}: queue index not visible`); break; }
          if (set.has(q)) violate(r, m.line, `${name} sent twice for queue ${q}`);
          set.add(q);
          break;
        }
        default:
          break;
      }
    }
    for (const r of flagRules) {
      if (m.flags === undefined) { unsure(r, m.line, `${name}: the ${flow.format} does not show header flags`); continue; }
      if (r.flag === 'NEED_REPLY' && (m.flags & FLAG_NEED_REPLY) === 0) continue;
      if (r.kind === 'flag-needs-feature') missingFeatures(r, r.features, m.line, `${name} has the NEED_REPLY flag`);
      else if (r.kind === 'reply-required') replyRules.push(r);
    }
    if (name === 'VHOST_USER_SET_PROTOCOL_FEATURES' && m.u64 !== undefined) protoNegotiated = m.u64;
    seen.add(name);
    lastSeen.set(name, index++);
    if (replyRules.length) pending = { m, rules: replyRules };
  }
  closePending(undefined);
  return { flow, messageCount: flow.messages.length, violations, unknown: [...unknown.values()] };
}

export type FlowKind = Flow['format'];

/** Recognises the source format from its content. */
export function detectFormat(text: string): FlowKind | undefined {
  if (looksLikeStrace(text)) return 'strace';
  if (looksLikeDpdkLog(text)) return 'dpdk-log';
  if (looksLikeLibvhostUserLog(text)) return 'libvhost-user-log';
  if (looksLikeQemuTrace(text)) return 'qemu-trace';
  return undefined;
}

/** opts.catalogue decodes a QEMU trace (catalogueResolver chooses it); default: the newest built-in. */
export function parseFlow(text: string, model: SpecModel, opts: { format?: FlowKind; connection?: string; catalogue?: Catalogue } = {}): Flow {
  const names = new MessageNames(model);
  const format = opts.format ?? detectFormat(text);
  switch (format) {
    case 'strace': {
      const fd = opts.connection ? Number(opts.connection.replace(/^fd\s*/, '')) : undefined;
      return parseStrace(text, names, fd === undefined || Number.isNaN(fd) ? {} : { fd });
    }
    case 'dpdk-log': return parseDpdkLog(text, names, opts.connection);
    case 'libvhost-user-log': return parseLibvhostUserLog(text, names);
    case 'qemu-trace': return readQemuTraceText(text, names, opts.catalogue ? { catalogue: opts.catalogue } : {});
    default:
      throw new Error('no vhost-user messages found: expected a QEMU trace (vhost_user_write/read), a DPDK vhost log, a libvhost-user log or an strace capture');
  }
}

/** Checks a text (an editor buffer); the back-end's log and QEMU's stderr, when given, are read for its death. */
export function checkText(text: string, spec: LoadedSpec, opts: { format?: FlowKind; connection?: string; catalogue?: Catalogue } & DiagnosisInputs = {}): CheckResult {
  const { traceFile, backend, stderr, ...parse } = opts;
  return diagnoseBackend(checkFlow(parseFlow(text, spec.model, parse), spec), spec, { traceFile, backend, stderr });
}
