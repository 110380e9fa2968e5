/** Why `text` is not a QMP command (a bare command name or `{"execute", "arguments"}`), or undefined when it is one. */
export function validateQmpInput(text: string): string | undefined {
  const t = text.trim();
  if (t === '') return 'type a command name or a JSON object {"execute": ..., "arguments": {...}}';
  if (!t.startsWith('{')) return /^[a-z][a-z0-9_-]*$/i.test(t) ? undefined : 'a command name has only letters, digits, - and _';
  try {
    const v = JSON.parse(t) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'must be a JSON object';
    const o = v as Record<string, unknown>;
    if (typeof o['execute'] !== 'string') return 'the object needs "execute": "command-name"';
    if (o['arguments'] !== undefined && (typeof o['arguments'] !== 'object' || o['arguments'] === null || Array.isArray(o['arguments']))) return '"arguments" must be an object';
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
