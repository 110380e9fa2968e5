/**
 * Built-in catalogues for released QEMU versions, generated from QEMU's
 * trace-events files by scripts/gen-catalogues.ts (data only: names, arguments, formats).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Catalogue } from '../catalogue';
import type { TraceEventDecl } from '../traceEventsParser';

/** [name, properties separated by spaces, "type\tname" lines, format]. */
export type BuiltinEventRow = [string, string, string, string];

export interface BuiltinCatalogueFile {
  version: string;
  events: BuiltinEventRow[];
}

/** Versions with a built-in catalogue, oldest first. */
export const builtinVersions: readonly string[] = ['7.2', '9.0', '10.2.50'];

const files = new Map<string, BuiltinCatalogueFile>();

/**
 * A version's catalogue file, read and parsed on first use: beside the bundle in
 * dist/catalogues (the build copies them there), or beside this module in the sources.
 */
function builtinFile(key: string): BuiltinCatalogueFile {
  let f = files.get(key);
  if (f) return f;
  const name = `qemu-${key}.json`;
  const path = [join(__dirname, 'catalogues', name), join(__dirname, name)].find((p) => existsSync(p));
  if (path === undefined) throw new Error(`the built-in trace catalogue ${name} is missing from ${join(__dirname, 'catalogues')} (run the build)`);
  f = JSON.parse(readFileSync(path, 'utf8')) as BuiltinCatalogueFile;
  files.set(key, f);
  return f;
}

const cache = new Map<string, Catalogue>();

function declOf(key: string, [name, props, args, format]: BuiltinEventRow): TraceEventDecl {
  return {
    name,
    props: props ? props.split(' ') : [],
    args: args ? args.split('\n').map((a) => { const [type, n] = a.split('\t'); return { type: type ?? '', name: n ?? '' }; }) : [],
    format,
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
    c = new Catalogue([], `builtin:qemu-${key}`);
    // Declarations are made per event when first needed; a conversion starts with '%',
    // so the count of '%' and of arguments bounds the decoder's fields.
    for (const row of builtinFile(key).events) {
      const args = row[2] === '' ? 0 : count(row[2], '\n') + 1;
      c.addLazy(row[0], Math.max(args, count(row[3], '%')), () => declOf(key, row));
    }
    cache.set(key, c);
  }
  return c;
}

/** The newest built-in catalogue. */
export function latestBuiltinVersion(): string {
  return builtinVersions[builtinVersions.length - 1]!;
}
