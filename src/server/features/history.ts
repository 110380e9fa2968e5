/**
 * How an event looked in the built-in catalogues (QEMU 7.2, 9.0, 10.0, 10.2.50): when it first
 * appears, in which version its arguments or format changed, and whether it is gone (with
 * the events of the same prefix that appear then, which is how QEMU splits an event).
 */
import { builtinCatalogue, builtinVersions } from '../../core/trace/catalogues/index';
import type { TraceEventDecl } from '../../core/trace/traceEventsParser';

export interface VersionEntry {
  readonly version: string;
  readonly decl: TraceEventDecl | undefined;
}

export interface EventHistory {
  readonly entries: readonly VersionEntry[];
  /** Sentences, oldest first. */
  readonly notes: readonly string[];
}

function signature(d: { args: readonly { type: string; name: string }[]; format: string }): string {
  return `${d.args.map((a) => `${a.type} ${a.name}`).join(', ')}\u0000${d.format}`;
}

function change(a: TraceEventDecl, b: TraceEventDecl): string {
  const args = a.args.map((x) => `${x.type} ${x.name}`).join(', ') !== b.args.map((x) => `${x.type} ${x.name}`).join(', ');
  const fmt = a.format !== b.format;
  return args && fmt ? 'arguments and format changed' : args ? 'arguments changed' : 'format changed';
}

/** Names present in `version` but not in `before` that start with `name_` (the parts of a split event). */
function successors(name: string, version: string, before: string): string[] {
  const now = builtinCatalogue(version);
  const then = builtinCatalogue(before);
  const out: string[] = [];
  for (const e of now.events) {
    const n = e.decl.name;
    if (n.startsWith(`${name}_`) && then.get(n) === undefined) out.push(n);
  }
  return out.slice(0, 6);
}

export function eventHistory(name: string, current?: { args: readonly { type: string; name: string }[]; format: string }): EventHistory {
  const entries = builtinVersions.map((version) => ({ version, decl: builtinCatalogue(version).get(name)?.decl }));
  const notes: string[] = [];
  let prev: VersionEntry | undefined;
  for (const e of entries) {
    if (e.decl && !prev?.decl) {
      notes.push(prev === undefined ? `in ${e.version} (the oldest built-in catalogue)` : `added after ${prev.version}: first in ${e.version}`);
    } else if (e.decl && prev?.decl && signature(e.decl) !== signature(prev.decl)) {
      notes.push(`${change(prev.decl, e.decl)} between ${prev.version} and ${e.version}`);
    } else if (!e.decl && prev?.decl) {
      const next = successors(name, e.version, prev.version);
      notes.push(`not in ${e.version} (removed or renamed after ${prev.version})${next.length > 0 ? `; new there: ${next.join(', ')}` : ''}`);
    }
    prev = e;
  }
  if (entries.every((e) => !e.decl)) notes.push(`in none of the built-in catalogues (${builtinVersions.join(', ')})`);
  const last = [...entries].reverse().find((e) => e.decl);
  if (current && last?.decl) {
    notes.push(signature(current) === signature(last.decl) ? `this tree declares it as ${last.version} does` : `this tree's declaration differs from ${last.version}'s (${change(last.decl, { ...last.decl, args: current.args, format: current.format })})`);
  }
  return { entries, notes };
}
