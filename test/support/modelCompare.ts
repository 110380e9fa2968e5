/**
 * A migration model as comparable data: typed arrays as lists, RAMBlocks by name (their
 * numbering depends on reading order), no parse times. With `sampled`, a trace's catalogue
 * choice is compared by what was chosen, not by the sample of the file it was chosen from
 * (a grown file gives another sample).
 */
import type { MigrationModel } from '../../src/core/analysis/model';

export function comparableModel(m: MigrationModel, opts: { readonly sampled?: boolean } = {}): unknown {
  const names = m.postcopy?.ramBlocks ?? [];
  const traces = m.traces.map((t) => ({ ...t, parseMs: 0, ...(opts.sampled ? { catalogue: { label: t.catalogue.label, source: t.catalogue.source, version: t.catalogue.version } } : {}) }));
  return JSON.parse(JSON.stringify({ ...m, traces }, (k, v: unknown) => {
    if (ArrayBuffer.isView(v)) return k === 'rb' ? Array.from(v as Uint32Array, (i) => names[i] ?? '-') : Array.from(v as Float64Array);
    if (k === 'ramBlocks') return [...(v as string[])].sort();
    return v;
  }));
}
