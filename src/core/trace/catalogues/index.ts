/**
 * Built-in catalogues for released QEMU versions, generated from QEMU's
 * trace-events files by scripts/gen-catalogues.ts (data only: names, arguments, formats).
 */
import { Catalogue } from '../catalogue';
import type { TraceEventDecl } from '../traceEventsParser';
import v72 from './qemu-7.2';
import v90 from './qemu-9.0';
import v10250 from './qemu-10.2.50';

/** [name, properties separated by spaces, "type\tname" lines, format]. */
export type BuiltinEventRow = [string, string, string, string];

export interface BuiltinCatalogueFile {
  version: string;
  events: BuiltinEventRow[];
}

/** Each version's catalogue as JSON text, parsed on first use. */
const TEXTS: Record<string, string> = { '7.2': v72, '9.0': v90, '10.2.50': v10250 };
const files = new Map<string, BuiltinCatalogueFile>();

function builtinFile(key: string): BuiltinCatalogueFile {
  let f = files.get(key);
  if (!f) { f = JSON.parse(TEXTS[key]!) as BuiltinCatalogueFile; files.set(key, f); }
  return f;
}

/** Versions with a built-in catalogue, oldest first. */
export const builtinVersions: readonly string[] = ['7.2', '9.0', '10.2.50'];

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
  if (TEXTS[v] !== undefined) return v;
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
