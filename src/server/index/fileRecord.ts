/** What the index keeps of one C file: positions ready for LSP, no bytes. */
import type { Parser } from 'web-tree-sitter';
import { readCallShapes } from './callArgs';
import { LineMap, looksBinary, mayNameTraceEvents, scanC } from './cScan';

export interface Place {
  /** 0-based line and UTF-16 character of the identifier's start. */
  readonly line: number;
  readonly character: number;
  /** Length of the identifier (ASCII: characters = bytes). */
  readonly length: number;
}

export interface CallRecord extends Place {
  /** The event name: the identifier without `trace_`. */
  readonly event: string;
  /** Number of arguments, -1 when unknown. */
  readonly argCount: number;
  /** Where the call ends (after ')'), for diagnostics on the whole call. */
  readonly endLine: number;
  readonly endCharacter: number;
}

export interface GuardRecord extends Place {
  /** The identifier as written, e.g. `TRACE_MULTIFD_SEND` or `TRACE_MULTIFD_SEND_ENABLED`. */
  readonly ident: string;
}

export interface FileRecord {
  readonly path: string;
  readonly calls: readonly CallRecord[];
  readonly guards: readonly GuardRecord[];
  /** `trace_` names this file declares or defines as C functions or macros (not events). */
  readonly definitions: readonly string[];
  readonly includesTraceHeader: boolean;
  /** Bytes read (0 when the prefilter or the binary check left the file out). */
  readonly bytes: number;
}

export function emptyRecord(path: string, bytes = 0): FileRecord {
  return { path, calls: [], guards: [], definitions: [], includesTraceHeader: false, bytes };
}

/** Indexes one file's bytes. */
export function indexBytes(parser: Parser, path: string, b: Buffer): FileRecord {
  if (!mayNameTraceEvents(b) || looksBinary(b)) return emptyRecord(path, b.length);
  const scan = scanC(b);
  const callSites = scan.sites.filter((s) => s.kind === 'call');
  const shapes = readCallShapes(parser, b, callSites);
  const calls: CallRecord[] = [];
  const guards: GuardRecord[] = [];
  const definitions: string[] = [];
  const lines = new LineMap(b);
  const ends = new LineMap(b);
  let k = 0;
  for (const s of scan.sites) {
    const at = lines.at(s.start);
    if (s.kind === 'call') {
      const shape = shapes[k++]!;
      const end = ends.at(s.close >= 0 ? s.close + 1 : s.end);
      calls.push({ ...at, length: s.end - s.start, event: s.ident.slice(6), argCount: shape.argCount, endLine: end.line, endCharacter: end.character });
    } else if (s.kind === 'guard') {
      guards.push({ ...at, length: s.end - s.start, ident: s.ident });
    } else {
      definitions.push(s.ident.slice(6));
    }
  }
  return { path, calls, guards, definitions, includesTraceHeader: scan.includesTraceHeader, bytes: b.length };
}
