import { readFileSync } from 'node:fs';
import type { SpecModel } from './model';
import { findFeature, findMessage } from './model';
import type { Rule, RuleKind } from './rules';
import { RULE_KINDS } from './rules';

/** Default location of a workspace's own rules. */
export const WORKSPACE_RULES = '.vscode/vhost-user-rules.json';

/** A rules file that does not validate; `problems` lists every one, each with its JSON path. */
export class RulesFileError extends Error {
  override readonly name = 'RulesFileError';
  constructor(readonly file: string, readonly problems: readonly string[]) {
    super(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Validates user rules: `{"rules": [{"id", "kind", "messages", "features"?, "flag"?, "ifFeature"?,
 * "replySize"?, "minFds"?, "during"?, "sentence"?, "line"?}]}` (a bare array is accepted too). Message and
 * feature names must exist in the spec model (old SLAVE names are accepted and normalised).
 */
export function parseUserRules(json: unknown, model: SpecModel, file = 'rules'): Rule[] {
  const problems: string[] = [];
  const list = Array.isArray(json) ? json : isObj(json) ? json.rules : undefined;
  if (!Array.isArray(list)) throw new RulesFileError(file, ['expected {"rules": [...]} or an array of rules']);
  const out: Rule[] = [];
  const ids = new Set<string>();
  list.forEach((raw: unknown, i) => {
    const at = `rules[${i}]`;
    if (!isObj(raw)) { problems.push(`${at}: expected an object`); return; }
    const known = new Set(['id', 'kind', 'messages', 'features', 'flag', 'ifFeature', 'replySize', 'minFds', 'during', 'sentence', 'line']);
    for (const k of Object.keys(raw)) if (!known.has(k)) problems.push(`${at}.${k}: unknown property (allowed: ${[...known].join(', ')})`);
    const id = raw.id;
    if (typeof id !== 'string' || !/^[\w./#-]+$/.test(id)) problems.push(`${at}.id: expected a string of letters, digits, - _ . / #`);
    else if (ids.has(id)) problems.push(`${at}.id: duplicate id "${id}"`);
    else ids.add(id);
    const kind = raw.kind;
    if (typeof kind !== 'string' || !(RULE_KINDS as readonly string[]).includes(kind)) problems.push(`${at}.kind: expected one of ${RULE_KINDS.join(', ')}`);
    const strings = (key: string, required: boolean): string[] => {
      const v = raw[key];
      if (v === undefined && !required) return [];
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) { problems.push(`${at}.${key}: expected an array of names`); return []; }
      return v as string[];
    };
    const messages = strings('messages', kind !== 'flag-needs-feature').map((m, j) => {
      const def = findMessage(model, m) ?? findMessage(model, m.replace('_SLAVE_', '_BACKEND_'));
      if (!def) problems.push(`${at}.messages[${j}]: "${m}" is not a message of ${model.source}`);
      return def?.name ?? m;
    });
    const features = strings('features', kind === 'needs-feature' || kind === 'flag-needs-feature' || kind === 'feature-needs-feature');
    features.forEach((f, j) => { if (!findFeature(model, f)) problems.push(`${at}.features[${j}]: "${f}" is not a feature of ${model.source}`); });
    const need = (n: number, what: string): void => { if (messages.length < n) problems.push(`${at}.messages: ${kind} needs ${what}`); };
    if (kind === 'after' || kind === 'before') need(2, 'two messages [X, Y]');
    if (kind === 'ring-start-stop') need(2, '[stop, start...]');
    if ((kind === 'needs-feature' || kind === 'flag-needs-feature') && features.length === 0) problems.push(`${at}.features: ${kind} needs at least one feature`);
    if (kind === 'feature-needs-feature' && features.length < 2) problems.push(`${at}.features: feature-needs-feature needs [feature, required...]`);
    if (raw.flag !== undefined && raw.flag !== 'NEED_REPLY') problems.push(`${at}.flag: only "NEED_REPLY" is supported`);
    if (raw.ifFeature !== undefined && (typeof raw.ifFeature !== 'string' || !findFeature(model, raw.ifFeature))) problems.push(`${at}.ifFeature: not a feature of ${model.source}`);
    for (const k of ['replySize', 'minFds', 'line'] as const) {
      if (raw[k] !== undefined && (typeof raw[k] !== 'number' || !Number.isInteger(raw[k]) || (raw[k] as number) < 0)) problems.push(`${at}.${k}: expected a non-negative integer`);
    }
    if (kind === 'reply-shape' && raw.replySize === undefined) problems.push(`${at}.replySize: reply-shape needs replySize`);
    let during: [string, string] | undefined;
    if (raw.during !== undefined) {
      const d = raw.during;
      const defs = Array.isArray(d) && d.length === 2 && d.every((x) => typeof x === 'string') ? (d as string[]).map((m) => findMessage(model, m)) : undefined;
      if (!defs || defs.some((x) => !x)) problems.push(`${at}.during: expected [startMessage, endMessage], both messages of ${model.source}`);
      else during = [defs[0]?.name ?? '', defs[1]?.name ?? ''];
    }
    if (raw.sentence !== undefined && typeof raw.sentence !== 'string') problems.push(`${at}.sentence: expected a string`);
    out.push({
      id: String(id), kind: kind as RuleKind, messages, features,
      flag: raw.flag === 'NEED_REPLY' ? 'NEED_REPLY' : undefined,
      ifFeature: typeof raw.ifFeature === 'string' ? raw.ifFeature : undefined,
      replySize: typeof raw.replySize === 'number' ? raw.replySize : undefined,
      minFds: typeof raw.minFds === 'number' ? raw.minFds : undefined,
      during,
      sentence: typeof raw.sentence === 'string' ? raw.sentence : `workspace rule ${String(id)}`,
      line: typeof raw.line === 'number' ? raw.line : 0,
      origin: 'user',
    });
  });
  if (problems.length) throw new RulesFileError(file, problems);
  return out;
}

export function loadUserRules(path: string, model: SpecModel): Rule[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new RulesFileError(path, [e instanceof SyntaxError ? `not valid JSON: ${e.message}` : `cannot read: ${e instanceof Error ? e.message : String(e)}`]);
  }
  return parseUserRules(json, model, path);
}

/** Spec rules plus user rules; a user rule with a spec rule's id replaces it. */
export function mergeRules(spec: readonly Rule[], user: readonly Rule[]): Rule[] {
  const ids = new Set(user.map((r) => r.id));
  return [...spec.filter((r) => !ids.has(r.id)), ...user];
}
