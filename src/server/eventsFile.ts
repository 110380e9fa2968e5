/**
 * One trace-events file as the server keeps it: each line taken apart once (scanner of
 * src/core/trace/traceEventsParser.ts), the events it declares, and the `# file.c` comments
 * that group them. Reparsing after an edit reuses the lines that did not change.
 */
import { scanTraceEventLine, type ScannedDeclaration, type ScannedLine } from '../core/trace/traceEventsParser';

export interface EventDecl {
  readonly name: string;
  readonly file: string;
  /** 0-based line. */
  readonly line: number;
  readonly decl: ScannedDeclaration;
  /** The `# something.c` comment the event is under, if any. */
  readonly section: string | undefined;
}

export interface EventsFile {
  readonly path: string;
  readonly text: string;
  readonly lines: readonly string[];
  readonly scanned: readonly ScannedLine[];
  readonly events: readonly EventDecl[];
  readonly sections: readonly { readonly title: string; readonly line: number }[];
}

/** Scans of line texts seen before: an edit reparses only the lines it changed. */
export class LineScanCache {
  private map = new Map<string, ScannedLine>();

  scan(text: string): ScannedLine {
    let s = this.map.get(text);
    if (s === undefined) {
      s = scanTraceEventLine(text.endsWith('\r') ? text.slice(0, -1) : text);
      // Bounded: a huge generated file must not keep every line it ever had.
      if (this.map.size > 400_000) this.map = new Map();
      this.map.set(text, s);
    }
    return s;
  }
}

export function parseEventsFile(path: string, text: string, cache: LineScanCache): EventsFile {
  const lines = text.split('\n');
  const scanned: ScannedLine[] = [];
  const events: EventDecl[] = [];
  const sections: { title: string; line: number }[] = [];
  let section: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const s = cache.scan(l);
    scanned.push(s);
    if (s.kind === 'comment') {
      const m = /^\s*#\s*(\S+\.(?:c|h|inc|rs))\s*$/.exec(l);
      if (m) { section = m[1]; sections.push({ title: m[1]!, line: i }); }
    } else if (s.kind === 'declaration') {
      events.push({ name: s.decl.name, file: path, line: i, decl: s.decl, section });
    }
  }
  return { path, text, lines, scanned, events, sections };
}
