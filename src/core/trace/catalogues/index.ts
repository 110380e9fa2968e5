/**
 * Built-in catalogues for released QEMU versions, generated from QEMU's
 * trace-events files by scripts/gen-catalogues.ts (data only: names, arguments, formats).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Catalogue } from '../catalogue';
import type { TraceEventDecl } from '../traceEventsParser';

/**
 * A built-in catalogue file (qemu-VERSION.events) holds one event per line: its name, its
 * properties (separated by spaces), its arguments ("type name", separated by ';') and its
 * format, separated by tabs; the format comes last, as it may hold tabs itself. Reading one
 * is a split into lines: an event's fields are taken apart when it is first used.
 */
export function builtinEventLine(name: string, props: readonly string[], args: readonly { type: string; name: string }[], format: string): string {
  const bad = [name, ...props, ...args.flatMap((a) => [a.type, a.name])].find((s) => /[\t\n;]/.test(s)) ?? (/\n/.test(format) ? format : undefined);
  if (bad !== undefined || args.some((a) => a.type === '' || /\s$/.test(a.type) || /\s/.test(a.name))) throw new Error(`event ${name}: cannot be written as a catalogue line (${JSON.stringify(bad ?? args)})`);
  return [name, props.join(' '), args.map((a) => `${a.type} ${a.name}`).join(';'), format].join('\t');
}

/** Versions with a built-in catalogue, oldest first. */
export const builtinVersions: readonly string[] = ['7.2', '9.0', '10.0', '10.2.50'];

/**
 * A version's catalogue lines, read on first use: beside the bundle in dist/catalogues (the
 * build copies them there), or beside this module in the sources.
 */
function builtinLines(key: string): string[] {
  const name = `qemu-${key}.events`;
  const path = [join(__dirname, 'catalogues', name), join(__dirname, name)].find((p) => existsSync(p));
  if (path === undefined) throw new Error(`the built-in trace catalogue ${name} is missing from ${join(__dirname, 'catalogues')} (run the build)`);
  const lines = readFileSync(path, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

const cache = new Map<string, Catalogue>();

/** The line's first three tabs (the fields before the format). */
function tabs(line: string): [number, number, number] {
  const a = line.indexOf('\t');
  const b = line.indexOf('\t', a + 1);
  return [a, b, line.indexOf('\t', b + 1)];
}

function declOf(key: string, line: string): TraceEventDecl {
  const [a, b, c] = tabs(line);
  if (c < 0) throw new Error(`the built-in trace catalogue qemu-${key}.events has a malformed line: ${line.slice(0, 80)}`);
  const props = line.slice(a + 1, b);
  const args = line.slice(b + 1, c);
  return {
    name: line.slice(0, a),
    props: props ? props.split(' ') : [],
    args: args ? args.split(';').map((x) => { const sp = x.lastIndexOf(' '); return { type: x.slice(0, sp), name: x.slice(sp + 1) }; }) : [],
    format: line.slice(c + 1),
    file: `builtin:qemu-${key}`,
    line: 0,
  };
}

function count(s: string, ch: string): number {
  let n = 0;
  for (let i = s.indexOf(ch); i >= 0; i = s.indexOf(ch, i + 1)) n++;
  return n;
}

/** Maps "9.0.0", "v9.0", "10.2" etc. to a built-in key; throws listing the choices. */
export function resolveBuiltinVersion(version: string): string {
  const v = version.replace(/^v/, '');
  if (builtinVersions.includes(v)) return v;
  const [maj, min] = v.split('.');
  for (const k of builtinVersions) {
    const [km, kn] = k.split('.');
    if (km === maj && (min === undefined || kn === min)) return k;
  }
  throw new Error(`no built-in trace catalogue for QEMU ${version}; available: ${builtinVersions.join(', ')} (or pass a folder with trace-events files)`);
}

export function builtinCatalogue(version: string): Catalogue {
  const key = resolveBuiltinVersion(version);
  let c = cache.get(key);
  if (!c) {
    const lines = builtinLines(key);
    // Declarations are made per event when first needed; a conversion starts with '%',
    // so the count of '%' and of arguments bounds the decoder's fields.
    c = Catalogue.ofLazyEvents({
      count: lines.length,
      name: (i) => { const line = lines[i]!; return line.slice(0, line.indexOf('\t')); },
      decl: (i) => declOf(key, lines[i]!),
      fieldBound: (i) => {
        const line = lines[i]!;
        const [, b, c] = tabs(line);
        return Math.max(c === b + 1 ? 0 : count(line.slice(b + 1, c), ';') + 1, count(line.slice(c + 1), '%'));
      },
    }, `builtin:qemu-${key}`);
    cache.set(key, c);
  }
  return c;
}

/** The newest built-in catalogue. */
export function latestBuiltinVersion(): string {
  return builtinVersions[builtinVersions.length - 1]!;
}
