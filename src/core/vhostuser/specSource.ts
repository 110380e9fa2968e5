import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SpecModel } from './model';
import { parseSpec } from './specParser';
import { specRules } from './rules';
import type { LoadedSpec } from './check';
import { BUILTIN_SPEC } from './builtinSpec.generated';
import { findPassages } from './passages';

export const SPEC_IN_TREE = join('docs', 'interop', 'vhost-user.rst');

export interface SpecChoice {
  /** Explicit document (--spec). */
  readonly spec?: string | undefined;
  /** A QEMU source tree (--qemu-tree); its docs/interop/vhost-user.rst is used. */
  readonly qemuTree?: string | undefined;
  /** Looked at for docs/interop/vhost-user.rst when neither is given. */
  readonly cwd?: string | undefined;
}

/** Parses a spec document from disk into model + rules. */
export function loadSpecFile(path: string): LoadedSpec {
  const model = parseSpec(readFileSync(path, 'utf8'), path);
  if (model.frontEnd.length === 0) throw new Error(`${path}: no vhost-user message types found; is this vhost-user.rst or vhost-user.txt?`);
  return { model, rules: specRules(model), source: path, passages: findPassages(model) };
}

/** --spec, else the QEMU tree's document, else cwd's, else the built-in model (QEMU 10.2.50). */
export function loadSpec(choice: SpecChoice): LoadedSpec {
  if (choice.spec) return loadSpecFile(choice.spec);
  if (choice.qemuTree) {
    const p = join(choice.qemuTree, SPEC_IN_TREE);
    if (!existsSync(p)) throw new Error(`${choice.qemuTree} has no ${SPEC_IN_TREE}`);
    return loadSpecFile(p);
  }
  if (choice.cwd && existsSync(join(choice.cwd, SPEC_IN_TREE))) return loadSpecFile(join(choice.cwd, SPEC_IN_TREE));
  return builtinSpec();
}

/** The model generated from the 10.2.50 document by scripts/gen-vhostuser-spec.ts: names, ids, bits, rules. */
export function builtinSpec(): LoadedSpec {
  const b = BUILTIN_SPEC;
  const model: SpecModel = {
    format: 'rst', source: `built-in (${b.generatedFrom})`,
    frontEnd: b.messages.filter((m) => m.direction === 'front-end').map((m) => ({ ...m, ioctl: undefined, requestPayload: undefined, replyPayload: undefined, replyLine: undefined })),
    backEnd: b.messages.filter((m) => m.direction === 'back-end').map((m) => ({ ...m, ioctl: undefined, requestPayload: undefined, replyPayload: undefined, replyLine: undefined })),
    protocolFeatures: b.protocolFeatures, virtioFeatures: b.virtioFeatures, headerFlags: b.headerFlags,
    statements: [], sentences: [], replyRequired: [], fdCarrying: [], mentioned: new Map(),
  };
  return { model, rules: b.rules, source: model.source, passages: b.passages };
}

/**
 * The QEMU version whose vhost-user document a spec is: the built-in model's (`10.2.50`), or the
 * VERSION file of the tree a `docs/interop/vhost-user.rst` belongs to. Undefined for a document
 * outside a QEMU tree.
 */
export function specQemuVersion(spec: LoadedSpec): string | undefined {
  const builtin = /^built-in \(QEMU (\S+)/.exec(spec.source);
  if (builtin) return builtin[1];
  const tree = spec.source.endsWith(SPEC_IN_TREE) ? spec.source.slice(0, -SPEC_IN_TREE.length) : undefined;
  if (tree === undefined) return undefined;
  try {
    return /^\s*(\d+\.\d+\.\d+)/.exec(readFileSync(join(tree, 'VERSION'), 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** Whether two QEMU versions (`10.0.2`, `10.2.50`) name the same release line (major.minor). */
export function sameQemuRelease(a: string, b: string): boolean {
  const line = (v: string): string => v.split('.').slice(0, 2).join('.');
  return line(a) === line(b);
}
