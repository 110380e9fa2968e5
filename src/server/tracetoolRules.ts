/**
 * tracetool's own checks of a trace-events file, applied as the QEMU version of the tree
 * applies them at build time (see qemuVersion.ts): each one here is a build failure.
 * tracetool stops at the first; the editor shows them all.
 */
import type { Finding } from './findings';
import type { TracetoolRules } from './qemuVersion';

/** The argument types tracetool accepts (each space-separated word of a type, `const` and `*` aside). */
export const ALLOWED_TYPE_WORDS: ReadonlySet<string> = new Set([
  'int', 'long', 'short', 'char', 'bool', 'unsigned', 'signed', 'int8_t', 'uint8_t', 'int16_t', 'uint16_t',
  'int32_t', 'uint32_t', 'int64_t', 'uint64_t', 'void', 'size_t', 'ssize_t', 'uintptr_t', 'ptrdiff_t',
]);

export const MAX_ARGUMENTS = 10;

// tracetool's line grammar, with Python's `\w`, `\s` and `.` (which, unlike JavaScript's, matches '\r').
const W = '[\\p{L}\\p{N}_]';
const S = '\\s';
const lineWithSecondFormat = new RegExp(`^(?:(?<props>(?:${W}|${S})+)${S}+)?(?<name>${W}+)\\((?<args>[^)]*)\\)${S}*(?:(?:(?<trans>"[^\\n]+),)?${S}*(?<fmt>"[^\\n]+))?${S}*`, 'du');
const lineOneFormat = new RegExp(`^(?:(?<props>(?:${W}|${S})+)${S}+)?(?<name>${W}+)\\((?<args>[^)]*)\\)${S}*(?<fmt>"[^\\n]+)?${S}*`, 'du');
// What the Rust output of the log backend reads in a format (QEMU 10.2 and later).
const formatToken = /"(?:[^"\\]|\\[\\"abfnrt]|\\x[0-9a-fA-F]{2})*?"|PRI[duixX](?:8|16|32|64|PTR|MAX)|\s+/y;

function err(line: number, start: number, end: number, code: string, message: string): Finding {
  return { line, start, end: Math.max(end, start + 1), severity: 'error', source: 'tracetool', code, message };
}

/** Checks one line (without its newline); `line` is its 0-based number. */
export function checkLine(text: string, line: number, rules: TracetoolRules): Finding[] {
  if (text.trim() === '' || text.trimStart().startsWith('#')) return [];
  const out: Finding[] = [];
  const m = (rules.secondFormat ? lineWithSecondFormat : lineOneFormat).exec(text + '\n');
  if (!m || !m.indices?.groups || !m.groups) {
    return [err(line, text.length - text.trimStart().length, text.trimEnd().length, 'line-grammar',
      'not a trace event: tracetool expects `[disable] name(type arg, ...) "format"`, with no space before `(` (it stops here)')];
  }
  const g = m.groups;
  const at = m.indices.groups;
  const props = (g.props ?? '').split(/\s+/).filter((p) => p !== '');
  let propFrom = at.props?.[0] ?? 0;
  for (const p of props) {
    const start = text.indexOf(p, propFrom);
    propFrom = start + p.length;
    if (!rules.properties.includes(p)) {
      out.push(err(line, start, start + p.length, 'unknown-property', `unknown property '${p}': ${rules.label} accepts only ${rules.properties.map((x) => `'${x}'`).join(' and ')}`));
    }
  }
  const fmt = g.fmt ?? '';
  const fmtAt = at.fmt?.[0] ?? text.length;
  const trans = g.trans ?? '';
  if (trans !== '') {
    const start = at.trans![0];
    // No version that reads a second format still accepts one: tracetool fails while generating code.
    out.push(err(line, start, fmtAt, 'second-format',
      `tracetool reads \`${trans},\` as a second (translation-time) format and then fails generating code: a \`, "\` inside a format must not be followed by a quote (write the comma inside the next string)`));
  }
  for (const [f, base] of [[trans, at.trans?.[0] ?? 0], [fmt, fmtAt]] as const) {
    const pm = f.indexOf('%m');
    if (pm >= 0) out.push(err(line, base + pm, base + pm + 2, 'format-percent-m', "'%m' is not allowed in a format: pass the error (errno, strerror) as an argument"));
  }
  if (fmt.endsWith('\\n"')) {
    out.push(err(line, fmtAt + fmt.length - 3, fmtAt + fmt.length - 1, 'format-trailing-newline', 'a format must not end with a newline: the backends add one'));
  } else if (rules.newlineAnywhere) {
    const nl = fmt.indexOf('\\n');
    if (nl >= 0) out.push(err(line, fmtAt + nl, fmtAt + nl + 2, 'format-newline', `a format must not contain a newline (${rules.label}): trace one event per line`));
  }
  const argsText = g.args ?? '';
  const argsAt = at.args![0];
  let offset = 0;
  let count = 0;
  for (const part of argsText.split(',')) {
    const lead = part.length - part.trimStart().length;
    const a = part.trim();
    const start = argsAt + offset + lead;
    offset += part.length + 1;
    if (a === '') {
      out.push(err(line, argsAt + offset - part.length - 1, argsAt + offset - 1, 'empty-argument', "empty argument (an event without arguments is written `name(void)`)"));
      continue;
    }
    if (a === 'void') continue;
    count++;
    let type: string;
    if (a.includes('*')) {
      type = a.slice(0, a.lastIndexOf('*') + 1);
    } else {
      const words = a.split(/\s+/);
      if (words.length < 2) {
        out.push(err(line, start, start + a.length, 'argument-syntax', `argument '${a}' needs a type and a name`));
        continue;
      }
      type = a.slice(0, a.length - words[words.length - 1]!.length).trimEnd();
    }
    const bad = type.split(' ').map((w) => w.replace(/\*/g, '')).find((w) => w !== '' && w !== 'const' && !ALLOWED_TYPE_WORDS.has(w));
    if (bad !== undefined) {
      out.push(err(line, start, start + type.length, 'argument-type',
        `argument type '${type}' is not allowed: only standard C and fixed-size integer types; declare a struct, union or other pointer as 'void *'`));
    }
  }
  if (count > MAX_ARGUMENTS) {
    const nameAt = at.name![0];
    out.push(err(line, nameAt, nameAt + g.name!.length, 'too-many-arguments', `${count} arguments: an event has at most ${MAX_ARGUMENTS}`));
  }
  if (rules.formatTokensOnly && fmt !== '') {
    const bad = firstBadToken(fmt);
    if (bad >= 0) {
      out.push(err(line, fmtAt + bad, fmtAt + fmt.trimEnd().length, 'format-token',
        `${rules.label} reads a format only as string literals (escapes \\\\ \\" \\a \\b \\f \\n \\r \\t \\xHH) and PRI macros (PRId8 … PRIX64, PTR, MAX): the log backend's Rust output cannot read the text from here`));
    }
  }
  return out;
}

/** Offset of the first text the Rust format reader does not take, or -1. */
function firstBadToken(fmt: string): number {
  let pos = 0;
  while (pos < fmt.length) {
    formatToken.lastIndex = pos;
    const m = formatToken.exec(fmt);
    if (!m || m[0].length === 0) return pos;
    pos += m[0].length;
  }
  return -1;
}
