import type {
  Direction, FeatureDef, HeaderFlagDef, ListedRequirement, MessageDef, SpecModel, SpecSentence, SpecStatement, StatementKind,
} from './model';

/**
 * Parses docs/interop/vhost-user.rst (reST, 2019 on) or the older plain-text vhost-user.txt
 * (master/slave wording) into a SpecModel. Line numbers are 1-based lines of the given text.
 */
export function parseSpec(text: string, source = '<memory>'): SpecModel {
  const lines = text.split(/\r?\n/);
  const format: 'rst' | 'txt' = /^\s*:id:\s*\d+/m.test(text) ? 'rst' : 'txt';
  const headings = findHeadings(lines);
  const messages = parseMessages(lines, headings, format);
  const { protocolFeatures, virtioFeatures } = parseFeatures(lines);
  const headerFlags = parseHeaderFlags(lines);
  const sentences = splitSentences(lines, headings, messages);
  const statements = classify(sentences);
  const replyRequired = listAfter(lines, sentences, /require\s+replies|ones that do/i);
  const fdCarrying = listAfter(lines, sentences, /file descriptors passed\s+in the ancillary data/i);
  const mentioned = new Map<string, number>();
  lines.forEach((l, i) => {
    for (const m of l.matchAll(NAME_RE)) if (!mentioned.has(m[0])) mentioned.set(m[0], i + 1);
  });
  return {
    format, source,
    frontEnd: messages.filter((m) => m.direction === 'front-end'),
    backEnd: messages.filter((m) => m.direction === 'back-end'),
    protocolFeatures, virtioFeatures, headerFlags, statements, sentences, replyRequired, fdCarrying, mentioned,
  };
}

const NAME_RE = /\bVHOST_USER_[A-Z0-9_]*[A-Z0-9]\b/g;
const FEATURE_NAME_RE = /\b(?:VHOST_USER_PROTOCOL_F_[A-Z0-9_]*[A-Z0-9]|VHOST_USER_F_[A-Z0-9_]*[A-Z0-9]|VIRTIO_F_[A-Z0-9_]*[A-Z0-9]|VHOST_F_[A-Z0-9_]*[A-Z0-9])\b/g;

interface Heading { readonly title: string; readonly line: number /* 0-based index of the title line */ }

function isUnderline(l: string): boolean {
  return /^([=\-^~"])\1{2,}\s*$/.test(l);
}

function findHeadings(lines: readonly string[]): Heading[] {
  const out: Heading[] = [];
  for (let i = 1; i < lines.length; i++) {
    const under = lines[i] ?? '';
    const title = lines[i - 1] ?? '';
    if (!isUnderline(under) || !/^\S/.test(title) || isUnderline(title) || /^[|+]/.test(title)) continue;
    if (under.trim().length + 3 < title.trim().length) continue;
    out.push({ title: title.trim().replace(/:$/, ''), line: i - 1 });
  }
  return out;
}

function sectionDirection(title: string): Direction | undefined {
  if (/^(front-end|master) message types$/i.test(title)) return 'front-end';
  if (/^(back-end|slave) message types$/i.test(title)) return 'back-end';
  return undefined;
}

const RST_ENTRY = /^``(VHOST_USER_\w+)``(?:\s*\(previous(?: name)?\s+``(VHOST_USER_\w+)``\))?\s*$/;
const TXT_ENTRY = /^ ?\*\s+(VHOST_USER_\w+)\s*$/;
const RST_FIELD = /^\s+:(id|equivalent ioctl|request payload|reply payload):\s*(.*)$/i;
const TXT_FIELD = /^\s+(Id|Equivalent ioctl|Ioctl|Master payload|Slave payload):\s*(.*)$/;

function clean(s: string): string {
  return s.replace(/``/g, '').replace(/\s+/g, ' ').trim();
}

function parseMessages(lines: readonly string[], headings: readonly Heading[], format: 'rst' | 'txt'): MessageDef[] {
  const out: MessageDef[] = [];
  for (let h = 0; h < headings.length; h++) {
    const head = headings[h];
    if (!head) continue;
    const direction = sectionDirection(head.title);
    if (!direction) continue;
    const end = headings[h + 1]?.line ?? lines.length;
    type Draft = { name: string; aliases: string[]; line: number; endLine: number; fields: Map<string, string>; fieldLines: Map<string, number> };
    let cur: Draft | undefined;
    const flush = (): void => {
      if (!cur) return;
      const idText = cur.fields.get('id');
      if (idText !== undefined && /^\d+$/.test(idText)) {
        const f = cur.fields;
        const requester = direction === 'front-end' ? 'master payload' : 'slave payload';
        const replier = direction === 'front-end' ? 'slave payload' : 'master payload';
        out.push({
          name: cur.name, id: Number(idText), direction, aliases: cur.aliases,
          ioctl: f.get('equivalent ioctl') ?? f.get('ioctl'),
          requestPayload: format === 'rst' ? f.get('request payload') : f.get(requester),
          replyPayload: format === 'rst' ? f.get('reply payload') : f.get(replier),
          replyLine: cur.fieldLines.get(format === 'rst' ? 'reply payload' : replier),
          line: cur.line, endLine: cur.endLine,
        });
      }
      cur = undefined;
    };
    for (let i = head.line + 2; i < end; i++) {
      const l = lines[i] ?? '';
      const e = format === 'rst' ? RST_ENTRY.exec(l) : TXT_ENTRY.exec(l);
      if (e?.[1]) {
        flush();
        cur = { name: e[1], aliases: e[2] ? [e[2]] : [], line: i + 1, endLine: i + 1, fields: new Map(), fieldLines: new Map() };
        continue;
      }
      if (!cur) continue;
      if (l.trim()) cur.endLine = i + 1;
      const f = (format === 'rst' ? RST_FIELD : TXT_FIELD).exec(l);
      if (f?.[1] && f[2] !== undefined) {
        const key = f[1].toLowerCase();
        if (!cur.fields.has(key)) { cur.fields.set(key, clean(f[2])); cur.fieldLines.set(key, i + 1); }
      }
    }
    flush();
  }
  return out;
}

function parseFeatures(lines: readonly string[]): { protocolFeatures: FeatureDef[]; virtioFeatures: FeatureDef[] } {
  const protocolFeatures: FeatureDef[] = [];
  const virtioFeatures: FeatureDef[] = [];
  lines.forEach((l, i) => {
    const m = /^\s*#define\s+(VHOST_USER_(PROTOCOL_)?F_\w+)\s+(\d+)\s*$/.exec(l);
    if (!m?.[1] || !m[3]) return;
    (m[2] ? protocolFeatures : virtioFeatures).push({ name: m[1], bit: Number(m[3]), line: i + 1 });
  });
  return { protocolFeatures, virtioFeatures };
}

function parseHeaderFlags(lines: readonly string[]): HeaderFlagDef[] {
  const out: HeaderFlagDef[] = [];
  lines.forEach((l, i) => {
    if (/Lower 2 bits are the version/.test(l)) out.push({ name: 'VERSION', mask: 0x3, line: i + 1 });
    const b = /Bit (\d+) is the (reply|need_reply) flag/.exec(l);
    if (b?.[1] && b[2]) out.push({ name: b[2] === 'reply' ? 'REPLY' : 'NEED_REPLY', mask: 1 << Number(b[1]), line: i + 1 });
  });
  return out;
}

/** Lines that are not prose: code, tables, field lists, directives, headings. */
function proseMask(lines: readonly string[], headings: readonly Heading[]): boolean[] {
  const prose = lines.map(() => true);
  for (const h of headings) { prose[h.line] = false; prose[h.line + 1] = false; }
  let codeIndent = -1;
  lines.forEach((l, i) => {
    const indent = l.length - l.trimStart().length;
    if (codeIndent >= 0) {
      if (!l.trim() || indent > codeIndent) { prose[i] = false; return; }
      codeIndent = -1;
    }
    if (/^\s*\.\. (code|code-block)::/.test(l) || /::\s*$/.test(l) && !/^\s*\.\./.test(l) && /\S::\s*$/.test(l)) {
      if (/^\s*\.\./.test(l)) prose[i] = false;
      codeIndent = indent;
      return;
    }
    if (/^\s*(\.\. |[+|]|#define|:id:|:equivalent ioctl:|:request payload:|:reply payload:|(Id|Ioctl|Equivalent ioctl|Master payload|Slave payload):)/.test(l)
      || /^\s*[-=]{3,}\s*$/.test(l) || /^\s*[{}]/.test(l)) prose[i] = false;
  });
  return prose;
}

function stripMarkup(s: string): string {
  return s
    .replace(/:ref:`([^`<]*?)\s*<[^>]*>`/g, '$1')
    .replace(/:\w+:`([^`]*)`/g, '$1')
    .replace(/``/g, '')
    .replace(/\*\*([^*]+)\*\*/g, '$1')
    .replace(/(^|\W)\*([^*\s][^*]*)\*(?=\W|$)/g, '$1$2')
    .replace(/`([^`]+)`_/g, '$1');
}

function splitSentences(lines: readonly string[], headings: readonly Heading[], messages: readonly MessageDef[]): SpecSentence[] {
  const prose = proseMask(lines, headings);
  const owners: (string | undefined)[] = new Array<string | undefined>(lines.length + 2).fill(undefined);
  for (const m of messages) for (let l = m.line; l <= m.endLine; l++) owners[l] = m.name;
  const owner = (line: number): string | undefined => owners[line];
  const out: SpecSentence[] = [];
  let i = 0;
  while (i < lines.length) {
    if (!prose[i] || !(lines[i] ?? '').trim()) { i++; continue; }
    // A paragraph: prose lines up to a blank line, a non-prose line or a new list item.
    const parts: { text: string; line: number }[] = [];
    do {
      parts.push({ text: (lines[i] ?? '').trim(), line: i + 1 });
      i++;
    } while (i < lines.length && prose[i] && (lines[i] ?? '').trim() && !/^\s*([*-]|#\.)\s/.test(lines[i] ?? ''));
    let joined = '';
    const starts: { at: number; line: number }[] = [];
    for (const p of parts) {
      starts.push({ at: joined.length, line: p.line });
      joined += p.text.replace(/^([*-]|#\.)\s+/, '') + ' ';
    }
    const lineAt = (pos: number): number => {
      let line = starts[0]?.line ?? 1;
      for (const s of starts) { if (s.at <= pos) line = s.line; else break; }
      return line;
    };
    for (const m of sentenceSpans(joined)) {
      const raw = joined.slice(m.start, m.end);
      const lead = raw.length - raw.trimStart().length;
      const text = stripMarkup(raw).replace(/\s+/g, ' ').trim();
      if (text.length < 3) continue;
      const line = lineAt(m.start + lead);
      out.push({ text, line, message: owner(line) });
    }
  }
  return out;
}

/** Sentence boundaries: ".", "!" or "?" then a space and a capital, a quote or a bracket; not after e.g./i.e. */
function sentenceSpans(t: string): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let start = 0;
  const re = /[.!?](?=\s+[A-Z(`"'*\[]|\s*$)/g;
  for (const m of t.matchAll(re)) {
    const at = m.index ?? 0;
    if (/\b(e\.g|i\.e|etc|vs|cf)$/i.test(t.slice(Math.max(0, at - 4), at))) continue;
    out.push({ start, end: at + 1 });
    start = at + 1;
  }
  if (t.slice(start).trim()) out.push({ start, end: t.length });
  return out;
}

function classify(sentences: readonly SpecSentence[]): SpecStatement[] {
  const out: SpecStatement[] = [];
  for (const s of sentences) {
    const mentions = [...new Set([...s.text.matchAll(NAME_RE), ...s.text.matchAll(FEATURE_NAME_RE)].map((m) => m[0]))];
    const features = mentions.filter((n) => /_F_/.test(n));
    const kinds: StatementKind[] = [];
    if (features.length > 0 && /\b(only|requires?|required|negotiat\w*|supported|present|gated|without|legal)\b/i.test(s.text)) kinds.push('dependency');
    if ((mentions.length > 0 || s.message) && /\b(after|before|prior|previously|until|upon)\b/i.test(s.text)) kinds.push('order');
    if (/\b(reply|replies|replied|respond|response|acknowledg\w*)\b/i.test(s.text) && /\b(must|MUST|should|needs?|required?|demands?|solicit)\b/.test(s.text)) kinds.push('reply');
    if (kinds.length) out.push({ kinds, text: s.text, line: s.line, message: s.message, mentions });
  }
  return out;
}

/** Bullet list of VHOST_USER_* items right after the sentence matching `intro`. */
function listAfter(lines: readonly string[], sentences: readonly SpecSentence[], intro: RegExp): ListedRequirement[] {
  const s = sentences.find((x) => intro.test(x.text));
  if (!s) return [];
  const out: ListedRequirement[] = [];
  let i = s.line; // 0-based index of the line after the sentence's first line
  while (i < lines.length && !/^\s*\*\s+/.test(lines[i] ?? '')) i++;
  for (; i < lines.length; i++) {
    const l = lines[i] ?? '';
    if (!l.trim()) {
      if (/^\s*\*\s/.test(lines[i + 1] ?? '')) continue;
      break;
    }
    const m = /^\s*\*\s+(?:``)?(VHOST_USER_\w+)(?:``)?(.*)$/.exec(l);
    if (!m?.[1]) break;
    const cond = /\(if (?:``)?(VHOST_USER_PROTOCOL_F_\w+)/.exec(m[2] ?? '');
    out.push({ message: m[1], ifFeature: cond?.[1], line: i + 1, intro: s.text });
  }
  return out;
}
