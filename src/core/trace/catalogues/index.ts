/**
 * Built-in catalogues for released QEMU versions, generated from QEMU's
 * trace-events files by scripts/gen-catalogues.ts (data only: names, arguments, formats).
 */
import { Catalogue } from '../catalogue';
import type { TraceEventDecl } from '../traceEventsParser';
import v72 from './qemu-7.2.json';
import v90 from './qemu-9.0.json';
import v10250 from './qemu-10.2.50.json';

/** [name, properties separated by spaces, "type\tname" lines, format]. */
export type BuiltinEventRow = [string, string, string, string];

export interface BuiltinCatalogueFile {
  version: string;
  events: BuiltinEventRow[];
}

const FILES: Record<string, BuiltinCatalogueFile> = {
  '7.2': v72 as BuiltinCatalogueFile,
  '9.0': v90 as BuiltinCatalogueFile,
  '10.2.50': v10250 as BuiltinCatalogueFile,
};

/** Versions with a built-in catalogue, oldest first. */
export const builtinVersions: readonly string[] = ['7.2', '9.0', '10.2.50'];

const cache = new Map<string, Catalogue>();

export function builtinDecls(version: string): TraceEventDecl[] {
  const key = resolveBuiltinVersion(version);
  const file = FILES[key]!;
  return file.events.map(([name, props, args, format]) => ({
    name,
    props: props ? props.split(' ') : [],
    args: args ? args.split('\n').map((a) => { const [type, n] = a.split('\t'); return { type: type ?? '', name: n ?? '' }; }) : [],
    format,
    file: `builtin:qemu-${key}`,
    line: 0,
  }));
}

/** Maps "9.0.0", "v9.0", "10.2" etc. to a built-in key; throws listing the choices. */
export function resolveBuiltinVersion(version: string): string {
  const v = version.replace(/^v/, '');
  if (FILES[v]) return v;
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
    c = new Catalogue(builtinDecls(key), `builtin:qemu-${key}`);
    cache.set(key, c);
  }
  return c;
}

/** The newest built-in catalogue. */
export function latestBuiltinVersion(): string {
  return builtinVersions[builtinVersions.length - 1]!;
}
