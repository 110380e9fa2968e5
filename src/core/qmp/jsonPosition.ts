/**
 * Where JSON.parse stopped, read from V8's own SyntaxError. V8 names the position ("... in JSON
 * at position 7"), the end ("Unexpected end of JSON input"), or, for an unexpected token, the
 * token with up to 10 characters of context on either side (the whole text when it is shorter
 * than 21 characters); the position is recovered from that context.
 */

/** V8 shows this many characters on each side of an unexpected token. */
const CONTEXT = 10;

/** The UTF-16 offset at which `text` stops being JSON, given the error JSON.parse(text) threw. */
export function jsonErrorPosition(text: string, error: unknown): number {
  const message = error instanceof Error ? error.message : String(error);
  const at = /at position (\d+)/.exec(message);
  if (at) return Number(at[1]);
  if (/Unexpected end of JSON input/.test(message)) return text.length;
  const token = /^Unexpected token '(.+?)', (\.\.\.)?"([\s\S]*)"(\.\.\.)? is not valid JSON$/.exec(message);
  if (token) {
    const [, tok = '', before, context = '', after] = token;
    if (before && after) {
      // Context from pos - 10 to pos + 10: the first place it fits with the token at pos.
      for (let start = text.indexOf(context); start >= 0; start = text.indexOf(context, start + 1)) {
        if (text.startsWith(tok, start + CONTEXT)) return start + CONTEXT;
      }
    } else if (after) return context.length - CONTEXT;
    else if (before) return text.length - context.length + CONTEXT;
    else return shortTextPosition(text);
  }
  return 0;
}

/**
 * For a text too short for V8's context: the first prefix V8 rejects before its end (a prefix
 * that only runs out, "Unexpected end" or a position at its length, is not an error yet).
 */
function shortTextPosition(text: string): number {
  for (let i = 0; i < text.length; i++) {
    try {
      JSON.parse(text.slice(0, i + 1));
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      const at = /at position (\d+)/.exec(message);
      const p = at ? Number(at[1]) : /Unexpected end of JSON input/.test(message) ? i + 1 : i;
      if (p <= i) return p;
    }
  }
  return text.length;
}

/** `position P (line L, column C)` of an offset, for messages. */
export function describeJsonPosition(text: string, pos: number): string {
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const column = pos - before.lastIndexOf('\n');
  return `position ${pos} (line ${line}, column ${column})`;
}
