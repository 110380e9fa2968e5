/** Named-argument access to event tables, tolerant of the names QEMU used across versions. */
import type { ColumnView, EventTable, TraceStore } from '../trace/store';

/** The first of names that the table has as a field, or null. */
export function fieldOf(table: EventTable, names: readonly string[]): ColumnView | null {
  for (const n of names) if (table.hasField(n)) return table.column(n);
  return null;
}

/** A table with at least one row, or undefined. */
export function rowsOf(store: TraceStore, name: string): EventTable | undefined {
  const t = store.table(name);
  return t && t.count > 0 ? t : undefined;
}

/** Numeric values of a field (NaN column when the field is absent). */
export function numbers(table: EventTable, names: readonly string[]): Float64Array {
  const c = fieldOf(table, names);
  const out = new Float64Array(table.count);
  if (c === null) { out.fill(NaN); return out; }
  for (let i = 0; i < table.count; i++) out[i] = c.number(i);
  return out;
}

/** String values of a field ('' when absent). */
export function strings(table: EventTable, names: readonly string[]): string[] {
  const c = fieldOf(table, names);
  const out: string[] = new Array<string>(table.count);
  for (let i = 0; i < table.count; i++) out[i] = c === null ? '' : String(c.get(i));
  return out;
}

export const CHANNEL = ['id', 'channel', 'c'] as const;
