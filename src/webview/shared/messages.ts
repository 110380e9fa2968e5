/**
 * Checking a message that crossed from a webview to the host: its shape is taken apart field
 * by field, never trusted. A check returns the typed message or the reason it is refused.
 */
export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

export const accept = <T>(value: T): Checked<T> => ({ ok: true, value });
export const refuse = (reason: string): Checked<never> => ({ ok: false, reason });

/** The message as a record with a string `type`, or null. */
export function typedRecord(raw: unknown): (Record<string, unknown> & { type: string }) | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const r = raw as Record<string, unknown>;
  return typeof r.type === 'string' ? (r as Record<string, unknown> & { type: string }) : null;
}

/** A short description of a refused value for the log (never the whole value: it may be huge). */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${v.byteLength} bytes)`;
  if (typeof v === 'string') return `a string of ${v.length} characters`;
  if (typeof v === 'object') return Array.isArray(v) ? `an array of ${v.length}` : 'an object';
  return `${typeof v} ${String(v).slice(0, 40)}`;
}

/** A file name for a save dialog's default: no folders, no control characters, not too long. */
export function isPlainFileName(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= 120 && !/[/\\\u0000-\u001f\u007f]/.test(v) && v !== '.' && v !== '..';
}
