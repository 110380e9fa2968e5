/**
 * What tracetool lets through but the compiler (-Wformat) or a reviewer would not: each
 * conversion of a format against the type of the argument it prints, and their count.
 * Where the fix is certain (the right PRI macro or length), it comes with the finding.
 */
import { conversionSpans, type Conversion } from '../core/trace/format';
import type { ScannedDeclaration, ScannedFormat } from '../core/trace/traceEventsParser';
import { classifyType, type ArgClass } from './cTypes';
import type { Finding, LineEdit } from './findings';

const INT_LETTERS = 'diuxXoc';

interface Spot {
  /** Expanded offsets [start, end) of the conversion, and where its length modifier starts. */
  readonly start: number;
  readonly end: number;
  readonly lengthAt: number;
  readonly conv: Conversion;
  /** The PRI macro its length and letter come from, if any. */
  readonly macro: string | undefined;
}

function pieceAt(f: ScannedFormat, expandedIndex: number): ScannedFormat['pieces'][number] | undefined {
  const col = f.sourceStart[expandedIndex];
  return f.pieces.find((p) => col !== undefined && p.span.start <= col && col < p.span.end);
}

function finding(line: number, f: ScannedFormat, s: { start: number; end: number }, severity: Finding['severity'], code: string, message: string, fix?: Finding['fix']): Finding {
  const start = f.sourceStart[s.start] ?? f.span.start;
  const end = f.sourceEnd[s.end - 1] ?? f.span.end;
  return { line, start, end, severity, source: 'qemu-trace-events', code, message, fix };
}

/** The conversion written another way: `replacement` is its new length and letter, or a PRI macro name. */
function rewrite(f: ScannedFormat, line: number, s: Spot, replacement: string): LineEdit[] | undefined {
  const toMacro = replacement.startsWith('PRI');
  const first = pieceAt(f, s.lengthAt);
  const last = pieceAt(f, s.end - 1);
  if (!first || !last) return undefined;
  if (s.macro !== undefined) {
    const macroPiece = last;
    if (macroPiece.kind !== 'macro') return undefined;
    if (toMacro) return [{ line, start: macroPiece.span.start, end: macroPiece.span.end, newText: replacement }];
    // "%08" PRIx64 " rest" -> "%08x rest": from the quote closing the literal to the next opening quote.
    const before = f.pieces[f.pieces.indexOf(macroPiece) - 1];
    const after = f.pieces[f.pieces.indexOf(macroPiece) + 1];
    if (!before || before.kind !== 'string') return undefined;
    const from = before.span.end - 1;
    if (after && after.kind === 'string') return [{ line, start: from, end: after.span.start + 1, newText: replacement }];
    return [{ line, start: from, end: macroPiece.span.end, newText: `${replacement}"` }];
  }
  if (first !== last || first.kind !== 'string') return undefined;
  const start = f.sourceStart[s.lengthAt]!;
  const end = f.sourceEnd[s.end - 1]!;
  if (!toMacro) return [{ line, start, end, newText: replacement }];
  // "x=%lu y" -> "x=%" PRIu64 " y"; at the end of the literal the closing quote goes too.
  if (end === first.span.end - 1) return [{ line, start, end: end + 1, newText: `" ${replacement}` }];
  return [{ line, start, end, newText: `" ${replacement} "` }];
}

function describeType(type: string, c: ArgClass): string {
  if (c.kind !== 'integer') return `'${type}'`;
  return `'${type}' (${c.signed ? 'signed' : 'unsigned'}, ${c.bits} bits)`;
}

function letterFor(c: ArgClass & { kind: 'integer' }, letter: string): string {
  if (letter === 'd' || letter === 'i' || letter === 'u') return c.signed ? 'd' : 'u';
  return letter === 'c' ? 'd' : letter;
}

/** The right way to write a conversion of letter `letter` for an integer argument. */
function rightSpelling(c: ArgClass & { kind: 'integer' }, letter: string): string {
  const l = letterFor(c, letter);
  switch (c.spelling) {
    case 'fixed': return c.bits === 64 ? `PRI${l}64` : l;
    case 'long': return `l${l}`;
    case 'longlong': return `ll${l}`;
    case 'size': return `z${l}`;
    case 'ptrdiff': return `t${l}`;
    case 'ptr': return `PRI${l}PTR`;
    case 'int': return l;
  }
}

/** Whether the conversion as written prints an argument of class c with the right width. */
function widthVerdict(c: ArgClass & { kind: 'integer' }, s: Spot): 'ok' | 'portability' | 'mismatch' {
  const len = s.conv.length;
  const macroSize = s.macro ? /^PRI[a-zA-Z](\d+|PTR|MAX|LEAST\d+|FAST\d+)$/.exec(s.macro)?.[1] : undefined;
  const is64 = len === 'l' || len === 'll' || len === 'z' || len === 'j' || len === 't' || len === 'L';
  switch (c.spelling) {
    case 'int':
      if (macroSize !== undefined) return macroSize === '64' || macroSize === 'PTR' || macroSize === 'MAX' ? 'mismatch' : 'ok';
      return is64 ? 'mismatch' : 'ok';
    case 'fixed':
      if (c.bits === 64) {
        if (macroSize === '64') return 'ok';
        if (macroSize !== undefined) return macroSize === 'PTR' || macroSize === 'MAX' ? 'portability' : 'mismatch';
        return is64 ? 'portability' : 'mismatch';
      }
      if (macroSize !== undefined) return macroSize === '32' || macroSize === '16' || macroSize === '8' ? 'ok' : 'mismatch';
      return is64 ? 'mismatch' : 'ok';
    case 'long': return len === 'l' && !s.macro ? 'ok' : is64 ? 'portability' : 'mismatch';
    case 'longlong': return len === 'll' && !s.macro ? 'ok' : is64 ? 'portability' : 'mismatch';
    case 'size': return len === 'z' && !s.macro ? 'ok' : is64 ? 'portability' : 'mismatch';
    case 'ptrdiff': return len === 't' && !s.macro ? 'ok' : is64 ? 'portability' : 'mismatch';
    case 'ptr': return macroSize === 'PTR' ? 'ok' : is64 ? 'portability' : 'mismatch';
  }
}

function spotsOf(f: ScannedFormat): { spots: Spot[]; unsupported: { start: number; end: number }[] } {
  const spots: Spot[] = [];
  const unsupported: { start: number; end: number }[] = [];
  for (const cs of conversionSpans(f.expanded)) {
    if (!cs.conv) { unsupported.push(cs); continue; }
    const lengthAt = cs.end - 1 - cs.conv.length.length;
    const p = pieceAt(f, cs.end - 1);
    spots.push({ start: cs.start, end: cs.end, lengthAt, conv: cs.conv, macro: p?.kind === 'macro' ? p.name : undefined });
  }
  return { spots, unsupported };
}

/** Format checks of one declaration on 0-based line `line`. */
export function checkFormat(d: ScannedDeclaration, line: number): Finding[] {
  const f = d.formats[d.formats.length - 1];
  if (!f) return [];
  const out: Finding[] = [];
  const { spots, unsupported } = spotsOf(f);
  for (const u of unsupported) {
    out.push(finding(line, f, u, 'error', 'format-conversion', `'${f.expanded.slice(u.start, u.end)}' does not print a trace argument: they are integers, strings (%s) and pointers (%p)`));
  }
  const args = d.args;
  let next = 0;
  for (const s of spots) {
    // A '*' width or precision takes an int argument first.
    next += (s.conv.width === -1 ? 1 : 0) + (s.conv.precision === -2 ? 1 : 0);
    const arg = args[next++];
    if (!arg) continue;
    if (arg.type === '') continue;
    const c = classifyType(arg.type);
    const k = s.conv.kind;
    const what = describeType(arg.type, c);
    if (k === 'str') {
      if (c.kind !== 'string') out.push(finding(line, f, s, 'error', 'format-type', `%s prints a string but '${arg.name}' is ${what}`));
      continue;
    }
    if (k === 'ptr') {
      if (c.kind === 'integer') out.push(finding(line, f, s, 'error', 'format-type', `%p prints a pointer but '${arg.name}' is ${what}`, { title: `Print '${arg.name}' as 0x%${rightSpelling(c, 'x')}`, edits: [] }));
      continue;
    }
    if (!INT_LETTERS.includes(s.conv.letter)) continue;
    if (c.kind === 'string' || c.kind === 'pointer') {
      out.push(finding(line, f, s, 'error', 'format-type', `'${s.conv.text}' prints an integer but '${arg.name}' is ${what}: use ${c.kind === 'string' ? '%s' : '%p'}`));
      continue;
    }
    if (c.kind !== 'integer') continue;
    const verdict = widthVerdict(c, s);
    const right = rightSpelling(c, s.conv.letter);
    const edits = rewrite(f, line, s, right);
    const fix = edits && edits.length > 0 ? { title: `Write ${right.startsWith('PRI') ? right : `%${right}`} for '${arg.name}'`, edits } : undefined;
    if (verdict === 'mismatch') {
      out.push(finding(line, f, s, 'error', 'format-type', `'${s.macro ? s.macro : s.conv.text}' does not match ${what} '${arg.name}': the value printed is wrong (use ${right.startsWith('PRI') ? right : `%${right}`})`, fix));
    } else if (verdict === 'portability') {
      out.push(finding(line, f, s, 'warning', 'format-portability', `'${s.macro ? s.macro : s.conv.text}' for ${what} '${arg.name}' is right only on some hosts: use ${right.startsWith('PRI') ? right : `%${right}`}`, fix));
    } else if ((s.conv.letter === 'd' || s.conv.letter === 'i') === !c.signed && 'diu'.includes(s.conv.letter)) {
      const macroRight = s.macro ? s.macro.replace(/^PRI[diu]/, `PRI${c.signed ? 'd' : 'u'}`) : `${s.conv.length}${c.signed ? 'd' : 'u'}`;
      const e2 = rewrite(f, line, s, macroRight);
      out.push(finding(line, f, s, 'information', 'format-signedness', `'${s.macro ? s.macro : s.conv.text}' prints ${what} '${arg.name}' as ${c.signed ? 'unsigned' : 'signed'}: use ${s.macro ? macroRight : `%${macroRight}`}`,
        e2 && e2.length > 0 ? { title: `Write ${s.macro ? macroRight : `%${macroRight}`} for '${arg.name}'`, edits: e2 } : undefined));
    }
  }
  const slots = next;
  if (slots > args.length) {
    out.push({ line, start: f.span.start, end: f.span.end, severity: 'error', source: 'qemu-trace-events', code: 'format-arg-count',
      message: `the format prints ${slots} values but the event has ${args.length} argument${args.length === 1 ? '' : 's'}` });
  } else if (slots < args.length) {
    const unused = args.slice(slots).map((a) => `'${a.name || a.text}'`).join(', ');
    out.push({ line, start: f.span.start, end: f.span.end, severity: 'warning', source: 'qemu-trace-events', code: 'format-arg-count',
      message: `the format prints ${slots} value${slots === 1 ? '' : 's'} but the event has ${args.length} arguments: ${unused} ${args.length - slots === 1 ? 'is' : 'are'} not printed` });
  }
  return out.map((x) => (x.fix && x.fix.edits.length === 0 ? { ...x, fix: undefined } : x));
}
