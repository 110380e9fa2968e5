import type { SpecModel, SpecSentence } from './model';
import { findFeature, findMessage } from './model';

export type RuleKind =
  | 'needs-feature' // a request of `messages` needs every feature of `features` negotiated
  | 'after' // messages[0] only after messages[1] was sent on the connection
  | 'before' // messages[0] must have been sent before messages[1]
  | 'reply-required' // a request of `messages` gets a reply before the next request
  | 'reply-shape' // the reply to `messages` carries `replySize` payload bytes
  | 'fd-count' // the request carries at least `minFds` file descriptors
  | 'flag-needs-feature' // header flag `flag` only with `features` negotiated
  | 'feature-needs-feature' // SET_PROTOCOL_FEATURES setting features[0] also sets features[1..]
  | 'ring-start-stop' // messages[0] (stop) on a queue only after messages[1..] (start) on it
  | 'once-per-queue'; // messages[0] at most once per queue index (messages[1..] reset)

export const RULE_KINDS: readonly RuleKind[] = ['needs-feature', 'after', 'before', 'reply-required', 'reply-shape', 'fd-count', 'flag-needs-feature', 'feature-needs-feature', 'ring-start-stop', 'once-per-queue'];

export interface Rule {
  readonly id: string;
  readonly kind: RuleKind;
  readonly messages: readonly string[];
  readonly features: readonly string[];
  /** Header flag the rule is about ("NEED_REPLY"), or that triggers a reply-required rule. */
  readonly flag?: 'NEED_REPLY' | undefined;
  /** Protocol feature that conditions the rule ("(if VHOST_USER_PROTOCOL_F_LOG_SHMFD)"). */
  readonly ifFeature?: string | undefined;
  readonly replySize?: number | undefined;
  readonly minFds?: number | undefined;
  /** The rule holds only after messages[0] of this pair was sent and before messages[1] (e.g. postcopy listening). */
  readonly during?: readonly [string, string] | undefined;
  /** The spec sentence the rule comes from, and its 1-based line in that document. */
  readonly sentence: string;
  readonly line: number;
  readonly origin: 'derived' | 'curated' | 'user';
}

const short = (name: string): string => name.replace(/^VHOST_USER_(PROTOCOL_F_)?/, '');

/** Rules read off the document's own wording: feature gates, reply lists, fd lists, u64 replies. */
export function deriveRules(model: SpecModel): Rule[] {
  const out: Rule[] = [];
  const known = (f: string): boolean => findFeature(model, f) !== undefined;
  for (const st of model.statements) {
    if (!st.message || !st.kinds.includes('dependency')) continue;
    const t = st.text;
    const gate = /\bonly (legal|valid|when|if)\b|should be sen[dt] only|requires prior negotiation|^When (the )?\S+ (protocol )?(feature )?(is|has been) (successfully )?(negotiated|supported)/i;
    const ff = /^The (\S+_F_\S+) protocol feature must only be ne\w*otiated if (\S+_F_\S+)/.exec(t);
    if (ff?.[1] && ff[2]) {
      if (known(ff[1]) && known(ff[2])) out.push({ id: `feature-needs-feature/${short(ff[1])}`, kind: 'feature-needs-feature', messages: ['VHOST_USER_SET_PROTOCOL_FEATURES'], features: [ff[1], ff[2]], sentence: t, line: st.line, origin: 'derived' });
      continue;
    }
    if (/^(If|Note)\b/.test(t) || !gate.test(t)) continue;
    const features = st.mentions.filter((m) => /_F_/.test(m) && known(m));
    if (features.length === 0) continue;
    out.push({ id: `needs-feature/${short(st.message)}`, kind: 'needs-feature', messages: [st.message], features, sentence: t, line: st.line, origin: 'derived' });
  }
  for (const r of model.replyRequired) {
    out.push({ id: `reply-required/${short(r.message)}`, kind: 'reply-required', messages: [r.message], features: [], ifFeature: r.ifFeature, sentence: `${r.intro} ${r.message}${r.ifFeature ? ` (if ${r.ifFeature})` : ''}`, line: r.line, origin: 'derived' });
  }
  for (const m of model.frontEnd) {
    if (!m.replyPayload || m.replyLine === undefined || /^(N\/A|\()/.test(m.replyPayload)) continue;
    if (/_GET_/.test(m.name) && !out.some((r) => r.kind === 'reply-required' && r.messages[0] === m.name)) {
      out.push({ id: `reply-required/${short(m.name)}`, kind: 'reply-required', messages: [m.name], features: [], sentence: `reply payload: ${m.replyPayload}`, line: m.replyLine, origin: 'derived' });
    }
    if (m.replyPayload === 'u64') {
      out.push({ id: `reply-shape/${short(m.name)}`, kind: 'reply-shape', messages: [m.name], features: [], replySize: 8, sentence: `reply payload: ${m.replyPayload}`, line: m.replyLine, origin: 'derived' });
    }
  }
  for (const r of model.fdCarrying) {
    out.push({ id: `fd-count/${short(r.message)}`, kind: 'fd-count', messages: [r.message], features: [], ifFeature: r.ifFeature, minFds: 1, sentence: `${r.intro} ${r.message}${r.ifFeature ? ` (if ${r.ifFeature})` : ''}`, line: r.line, origin: 'derived' });
  }
  return out;
}

/** Finds the sentence (in a message entry, if given) containing every phrase; lines differ per document. */
export function locate(model: SpecModel, phrases: readonly RegExp[], message?: string): SpecSentence | undefined {
  const def = message ? findMessage(model, message) : undefined;
  return model.sentences.find((s) => (!def || (s.line >= def.line && s.line <= def.endLine)) && phrases.every((p) => p.test(s.text)));
}

interface CuratedSpec {
  readonly rule: Omit<Rule, 'sentence' | 'line' | 'origin'>;
  readonly phrases: readonly RegExp[];
  readonly inMessage?: string;
}

const PF = 'VHOST_USER_PROTOCOL_F_';
const CURATED: readonly CuratedSpec[] = [
  { rule: { id: 'postcopy-advise-needs-pagefault', kind: 'needs-feature', messages: ['VHOST_USER_POSTCOPY_ADVISE'], features: [`${PF}PAGEFAULT`] }, phrases: [/PAGEFAULT is supported/], inMessage: 'VHOST_USER_POSTCOPY_ADVISE' },
  { rule: { id: 'postcopy-listen-after-advise', kind: 'after', messages: ['VHOST_USER_POSTCOPY_LISTEN', 'VHOST_USER_POSTCOPY_ADVISE'], features: [] }, phrases: [/sent sometime after/, /POSTCOPY_ADVISE/], inMessage: 'VHOST_USER_POSTCOPY_LISTEN' },
  { rule: { id: 'postcopy-end-after-listen', kind: 'after', messages: ['VHOST_USER_POSTCOPY_END', 'VHOST_USER_POSTCOPY_LISTEN'], features: [] }, phrases: [/after VHOST_USER_POSTCOPY_LISTEN/], inMessage: 'VHOST_USER_POSTCOPY_END' },
  { rule: { id: 'postcopy-advise-reply', kind: 'reply-required', messages: ['VHOST_USER_POSTCOPY_ADVISE'], features: [] }, phrases: [/must open a userfaultfd/], inMessage: 'VHOST_USER_POSTCOPY_ADVISE' },
  { rule: { id: 'postcopy-set-mem-table-reply', kind: 'reply-required', messages: ['VHOST_USER_SET_MEM_TABLE'], features: [], during: ['VHOST_USER_POSTCOPY_LISTEN', 'VHOST_USER_POSTCOPY_END'] }, phrases: [/POSTCOPY_LISTEN has been received, SET_MEM_TABLE replies/], inMessage: 'VHOST_USER_SET_MEM_TABLE' },
  { rule: { id: 'postcopy-end-reply', kind: 'reply-required', messages: ['VHOST_USER_POSTCOPY_END'], features: [] }, phrases: [/acknowledgement only/], inMessage: 'VHOST_USER_POSTCOPY_END' },
  { rule: { id: 'get-protocol-features-needs-f-protocol-features', kind: 'needs-feature', messages: ['VHOST_USER_GET_PROTOCOL_FEATURES'], features: ['VHOST_USER_F_PROTOCOL_FEATURES'] }, phrases: [/Only legal if feature bit VHOST_USER_F_PROTOCOL_FEATURES/], inMessage: 'VHOST_USER_GET_PROTOCOL_FEATURES' },
  { rule: { id: 'set-protocol-features-needs-f-protocol-features', kind: 'needs-feature', messages: ['VHOST_USER_SET_PROTOCOL_FEATURES'], features: ['VHOST_USER_F_PROTOCOL_FEATURES'] }, phrases: [/Only legal if feature bit VHOST_USER_F_PROTOCOL_FEATURES/], inMessage: 'VHOST_USER_SET_PROTOCOL_FEATURES' },
  { rule: { id: 'need-reply-needs-reply-ack', kind: 'flag-needs-feature', messages: [], features: [`${PF}REPLY_ACK`], flag: 'NEED_REPLY' }, phrases: [/With this protocol extension negotiated/, /need_reply/] },
  { rule: { id: 'need-reply-answered', kind: 'reply-required', messages: [], features: [], flag: 'NEED_REPLY' }, phrases: [/MUST respond/] },
  { rule: { id: 'inband-notifications-need-backend-req-and-reply-ack', kind: 'feature-needs-feature', messages: ['VHOST_USER_SET_PROTOCOL_FEATURES'], features: [`${PF}INBAND_NOTIFICATIONS`, `${PF}BACKEND_REQ`, `${PF}REPLY_ACK`] }, phrases: [/error to negotiate this feature without also negotiating/] },
  { rule: { id: 'ring-stop-after-start', kind: 'ring-start-stop', messages: ['VHOST_USER_GET_VRING_BASE', 'VHOST_USER_SET_VRING_KICK', 'VHOST_USER_VRING_KICK'], features: [] }, phrases: [/start (a )?ring upon receiving/, /GET_VRING_BASE/] },
];

/**
 * Hand-picked rules whose wording the derivation cannot read on its own. Each is placed on its
 * sentence by searching the parsed document, so the cited line is right for every version; a rule
 * whose sentence the document lacks (e.g. in-band notifications before 2020) is left out.
 */
export function curatedRules(model: SpecModel): { rules: Rule[]; missing: string[] } {
  const rules: Rule[] = [];
  const missing: string[] = [];
  for (const c of CURATED) {
    const s = locate(model, c.phrases, c.inMessage);
    // Old texts name BACKEND_REQ "SLAVE_REQ": use the document's own feature names.
    const features = c.rule.features.map((f) => findFeature(model, f) ? f : f.replace('_BACKEND_', '_SLAVE_'));
    const messages = c.rule.messages.filter((m, i) => i === 0 || findMessage(model, m) !== undefined);
    if (!s || features.some((f) => !findFeature(model, f)) || (messages[0] !== undefined && !findMessage(model, messages[0]))) {
      missing.push(c.rule.id);
      continue;
    }
    rules.push({ ...c.rule, messages, features, sentence: s.text, line: s.line, origin: 'curated' });
  }
  return { rules, missing };
}

/** Curated rules plus derived ones that curated rules do not already cover. */
export function specRules(model: SpecModel): Rule[] {
  const { rules } = curatedRules(model);
  const key = (r: Rule): string => `${r.kind}|${r.messages.join(',')}|${r.flag ?? ''}|${r.kind === 'feature-needs-feature' ? r.features.join(',') : ''}`;
  const taken = new Set(rules.map(key));
  for (const r of deriveRules(model)) {
    if (taken.has(key(r))) continue;
    // Two sentences of one entry can gate one message: keep ids unique.
    let id = r.id;
    for (let n = 2; rules.some((x) => x.id === id); n++) id = `${r.id}#${n}`;
    taken.add(key(r));
    rules.push({ ...r, id });
  }
  return rules;
}
