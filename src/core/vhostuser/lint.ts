import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Direction, MessageDef, SpecModel } from './model';
import { findFeature } from './model';
import type { CConstant } from './cEnums';
import { readCConstantsFile } from './cEnums';

export interface LintIssue {
  readonly code: 'duplicate-id' | 'skipped-id' | 'duplicate-bit' | 'skipped-bit' | 'undefined-message' | 'undefined-feature' | 'gated-feature-undefined' | 'c-missing' | 'doc-missing' | 'c-value-mismatch';
  readonly severity: 'error' | 'warning';
  /** Line in the spec document (for C-side issues: of the doc entry, or 1). */
  readonly line: number;
  readonly message: string;
  /** For C-side issues: the C file and line. */
  readonly cFile?: string | undefined;
  readonly cLine?: number | undefined;
}

/** Names that look like messages but are flags, masks or prefixes. */
const NOT_MESSAGES = /^VHOST_USER_(NEED_REPLY|REPLY|VERSION|F_\w+|PROTOCOL_F_\w+|\w+_MASK|MAX|NONE|BACKEND|SLAVE|MEMORY_MAX_NREGIONS|VRING_\w*NOFD\w*)$/;

function idIssues(list: readonly MessageDef[], what: string): LintIssue[] {
  const out: LintIssue[] = [];
  const byId = new Map<number, MessageDef>();
  for (const m of list) {
    const prev = byId.get(m.id);
    if (prev) out.push({ code: 'duplicate-id', severity: 'error', line: m.line, message: `${what} id ${m.id} is used by both ${prev.name} (line ${prev.line}) and ${m.name}` });
    else byId.set(m.id, m);
  }
  const max = Math.max(0, ...byId.keys());
  for (let id = 1; id <= max; id++) {
    if (!byId.has(id)) {
      const after = [...byId.values()].filter((m) => m.id < id).sort((a, b) => b.id - a.id)[0];
      out.push({ code: 'skipped-id', severity: 'warning', line: after?.line ?? 1, message: `${what} id ${id} is skipped (no message between ${id - 1} and ${id + 1})` });
    }
  }
  return out;
}

/** Checks the document against itself. */
export function lintSpec(model: SpecModel): LintIssue[] {
  const out: LintIssue[] = [...idIssues(model.frontEnd, 'front-end message'), ...idIssues(model.backEnd, 'back-end message')];
  const bits = new Map<number, string>();
  for (const f of model.protocolFeatures) {
    const prev = bits.get(f.bit);
    if (prev) out.push({ code: 'duplicate-bit', severity: 'error', line: f.line, message: `protocol feature bit ${f.bit} is used by both ${prev} and ${f.name}` });
    else bits.set(f.bit, f.name);
  }
  const maxBit = Math.max(-1, ...bits.keys());
  for (let b = 0; b <= maxBit; b++) {
    if (!bits.has(b)) out.push({ code: 'skipped-bit', severity: 'warning', line: model.protocolFeatures.find((f) => f.bit > b)?.line ?? 1, message: `protocol feature bit ${b} is skipped` });
  }
  const messageNames = new Set<string>();
  for (const m of [...model.frontEnd, ...model.backEnd]) { messageNames.add(m.name); for (const a of m.aliases) messageNames.add(a); }
  for (const [name, line] of model.mentioned) {
    if (/^VHOST_USER_PROTOCOL_F_/.test(name) || /^VHOST_USER_F_/.test(name)) {
      if (!findFeature(model, name)) out.push({ code: 'undefined-feature', severity: 'error', line, message: `${name} is mentioned but not defined in the feature list` });
    } else if (!NOT_MESSAGES.test(name) && !messageNames.has(name)) {
      out.push({ code: 'undefined-message', severity: 'error', line, message: `${name} is mentioned but no message of that name is defined` });
    }
  }
  for (const st of model.statements) {
    if (!st.message || !st.kinds.includes('dependency')) continue;
    for (const f of st.mentions) {
      if (/^VHOST_USER_PROTOCOL_F_/.test(f) && !findFeature(model, f)) {
        out.push({ code: 'gated-feature-undefined', severity: 'error', line: st.line, message: `${st.message} is gated on ${f}, which is not in the protocol feature list` });
      }
    }
  }
  return out.sort((a, b) => a.line - b.line);
}

/** The C files of a QEMU tree that define the vhost-user enums (those that exist). */
export function cFilesOfTree(tree: string): string[] {
  return ['hw/virtio/vhost-user.c', 'include/hw/virtio/vhost-user.h', 'subprojects/libvhost-user/libvhost-user.h']
    .map((p) => join(tree, p)).filter((p) => existsSync(p));
}

const canon = (n: string): string => n.replace('_SLAVE_', '_BACKEND_');

/** Compares the document's ids and bits with the C enums, file by file. */
export function lintAgainstC(model: SpecModel, constants: readonly CConstant[]): LintIssue[] {
  const out: LintIssue[] = [];
  const files = [...new Set(constants.map((c) => c.file))];
  for (const file of files) {
    const cs = constants.filter((c) => c.file === file);
    const groups: { direction: Direction | 'feature'; doc: Map<string, { value: number; line: number }>; c: CConstant[] }[] = [];
    const docMsgs = (list: readonly MessageDef[]): Map<string, { value: number; line: number }> => new Map(list.map((m) => [canon(m.name), { value: m.id, line: m.line }]));
    const isBackendEnum = (c: CConstant): boolean => cs.some((o) => o.enumName === c.enumName && /^VHOST_USER_(BACKEND|SLAVE)_/.test(o.name) && o.name !== c.name);
    const enumerated = cs.filter((c) => c.enumName !== '' && /^VHOST_USER_/.test(c.name) && !/_(NONE|MAX)$/.test(c.name));
    groups.push({ direction: 'feature', doc: new Map(model.protocolFeatures.map((f) => [canon(f.name), { value: f.bit, line: f.line }])), c: enumerated.filter((c) => /^VHOST_USER_PROTOCOL_F_/.test(c.name)) });
    const requests = enumerated.filter((c) => !/^VHOST_USER_PROTOCOL_F_/.test(c.name) && /Request|Req/i.test(c.enumName));
    groups.push({ direction: 'back-end', doc: docMsgs(model.backEnd), c: requests.filter(isBackendEnum) });
    groups.push({ direction: 'front-end', doc: docMsgs(model.frontEnd), c: requests.filter((c) => !isBackendEnum(c)) });
    for (const g of groups) {
      if (g.c.length === 0) continue;
      const what = g.direction === 'feature' ? 'protocol feature' : `${g.direction} message`;
      const seen = new Set<string>();
      for (const c of g.c) {
        const key = canon(c.name);
        seen.add(key);
        const d = g.doc.get(key);
        if (!d) out.push({ code: 'doc-missing', severity: 'warning', line: 1, message: `${what} ${c.name} = ${c.value} (${file}:${c.line}) is not in the document`, cFile: file, cLine: c.line });
        else if (d.value !== c.value) out.push({ code: 'c-value-mismatch', severity: 'error', line: d.line, message: `${what} ${c.name} is ${d.value} in the document but ${c.value} in ${file}:${c.line}`, cFile: file, cLine: c.line });
      }
      for (const [name, d] of g.doc) {
        if (!seen.has(name)) out.push({ code: 'c-missing', severity: 'warning', line: d.line, message: `${what} ${name} (${d.value}) is in the document but not in ${file}`, cFile: file });
      }
    }
  }
  return out;
}

/** lintSpec plus, for a QEMU tree, the C enum comparison. */
export async function lintSpecWithTree(model: SpecModel, tree: string | undefined): Promise<LintIssue[]> {
  const issues = lintSpec(model);
  if (!tree) return issues;
  const constants: CConstant[] = [];
  for (const f of cFilesOfTree(tree)) constants.push(...await readCConstantsFile(f));
  return [...issues, ...lintAgainstC(model, constants)];
}
