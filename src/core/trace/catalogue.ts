/**
 * A catalogue: every known trace event with its compiled decoder, looked up by
 * name as a string or straight from the bytes of a log line.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Decoder } from './decoder';
import { parseTraceEvents, type TraceEventDecl, type TraceEventsSyntaxError } from './traceEventsParser';

export interface CatalogueEvent {
  readonly index: number;
  readonly decl: TraceEventDecl;
  /** Undefined when the format uses a conversion the decoder cannot read back. Compiled on first use. */
  readonly decoder: Decoder | undefined;
  readonly nameBytes: Uint8Array;
}

/**
 * An event whose declaration (when given as a loader) and decoder are made when first
 * asked for: a catalogue of thousands of events loads at once, and a trace pays only for
 * the events it has.
 */
class Entry implements CatalogueEvent {
  private compiled = false;
  private dec: Decoder | undefined;
  private d: TraceEventDecl | (() => TraceEventDecl);
  /** Why the format has no decoder, once compiled. */
  problem: string | undefined;

  private bytes: Uint8Array | undefined;

  constructor(readonly index: number, decl: TraceEventDecl | (() => TraceEventDecl), readonly name: string) {
    this.d = decl;
  }

  get nameBytes(): Uint8Array {
    return (this.bytes ??= nameBytesOf(this.name));
  }

  get decl(): TraceEventDecl {
    const d = this.d;
    if (typeof d !== 'function') return d;
    return (this.d = d());
  }

  get decoder(): Decoder | undefined {
    if (!this.compiled) {
      this.compiled = true;
      const d = this.decl;
      try {
        this.dec = new Decoder(d.format, d.args.map((a) => a.name), d.args.map((a) => a.type));
      } catch (e) {
        this.problem = e instanceof Error ? e.message : String(e);
      }
    }
    return this.dec;
  }
}

/** The bytes of an event name (C identifiers are ASCII; anything else is encoded as UTF-8). */
function nameBytesOf(name: string): Uint8Array {
  const b = new Uint8Array(name.length);
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 0x7f) return encoder.encode(name);
    b[i] = c;
  }
  return b;
}

export interface DuplicateEvent {
  readonly name: string;
  readonly first: { file: string; line: number };
  readonly second: { file: string; line: number };
}

export interface FormatProblem {
  readonly name: string;
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

/** Hash of an event name's bytes; the log reader computes the same while scanning a line. */
export function hashNameByte(h: number, c: number): number {
  return Math.imul(h ^ c, 0x01000193);
}
export const NAME_HASH_SEED = 0x811c9dc5 | 0;

const encoder = new TextEncoder();

/**
 * Events known by index and name whose declarations are made when first asked for
 * (built-in catalogues: thousands of events, of which a trace has a few dozen).
 */
export interface LazyEvents {
  readonly count: number;
  name(i: number): string;
  decl(i: number): TraceEventDecl;
  /** At least the field count of event i's decoder. */
  fieldBound(i: number): number;
}

export class Catalogue {
  readonly duplicates: DuplicateEvent[] = [];
  /** Events by index; with lazy events, those not asked for yet are missing. */
  private readonly entries: Entry[] = [];
  private readonly byName = new Map<string, CatalogueEvent>();
  private lazy: LazyEvents | undefined;
  /** Lazy events by name, made at the first lookup of a name not made yet. */
  private lazyIndex: Map<string, number> | undefined;
  private slots = new Int32Array(64).fill(-1);
  private slotHash = new Int32Array(64);
  /** Events placed in the hash table so far (the first `placed` of `events`). */
  private placed = 0;
  private fieldsBound = 0;
  /** Lazy events not yet counted in fieldsBound. */
  private boundLazy: LazyEvents | undefined;

  constructor(decls: Iterable<TraceEventDecl> = [], readonly source = 'custom', readonly errors: TraceEventsSyntaxError[] = []) {
    for (const d of decls) this.add(d);
  }

  /** A catalogue of lazy events only (their names are unique). */
  static ofLazyEvents(events: LazyEvents, source: string): Catalogue {
    const c = new Catalogue([], source);
    c.lazy = events;
    c.boundLazy = events;
    return c;
  }

  /** Every event in index order (makes every lazy one). */
  get events(): readonly CatalogueEvent[] {
    const lazy = this.lazy;
    if (lazy) {
      for (let i = 0; i < lazy.count; i++) if (this.entries[i] === undefined) this.make(i);
      this.lazy = undefined;
      this.lazyIndex = undefined;
    }
    return this.entries;
  }

  /** The event of an index (below size). */
  event(index: number): CatalogueEvent {
    return this.entries[index] ?? this.make(index);
  }

  /** At least the most fields of any event's decoder (one per conversion), so a reader can size its scratch once. */
  get maxFields(): number {
    const lazy = this.boundLazy;
    if (lazy) {
      this.boundLazy = undefined;
      for (let i = 0; i < lazy.count; i++) this.fieldsBound = Math.max(this.fieldsBound, lazy.fieldBound(i));
    }
    return this.fieldsBound;
  }

  private make(i: number): Entry {
    const lazy = this.lazy!;
    const ev = new Entry(i, () => lazy.decl(i), lazy.name(i));
    this.entries[i] = ev;
    this.byName.set(ev.name, ev);
    return ev;
  }

  /** Adds a declaration; a second one with the same name is reported and ignored. */
  add(decl: TraceEventDecl): CatalogueEvent | undefined {
    if (this.lazy) void this.events;
    const prev = this.byName.get(decl.name);
    if (prev) {
      this.duplicates.push({ name: decl.name, first: { file: prev.decl.file, line: prev.decl.line }, second: { file: decl.file, line: decl.line } });
      return undefined;
    }
    // A conversion starts with '%': their count bounds the decoder's fields without compiling it.
    this.fieldsBound = Math.max(this.fieldsBound, decl.args.length, decl.format.split('%').length - 1);
    const ev = new Entry(this.entries.length, decl, decl.name);
    this.entries.push(ev);
    this.byName.set(decl.name, ev);
    return ev;
  }

  /** Formats the decoder cannot read back, in declaration order (compiles every decoder). */
  get formatProblems(): FormatProblem[] {
    const out: FormatProblem[] = [];
    void this.events;
    for (const e of this.entries) {
      if (e.decoder === undefined && e.problem !== undefined) out.push({ name: e.decl.name, file: e.decl.file, line: e.decl.line, message: e.problem });
    }
    return out;
  }

  get(name: string): CatalogueEvent | undefined {
    const ev = this.byName.get(name);
    if (ev !== undefined || this.lazy === undefined) return ev;
    const i = this.nameIndex().get(name);
    return i === undefined ? undefined : this.make(i);
  }

  /** Lazy events by name, made at the first lookup (or ahead of it, by a reader waiting for work). */
  nameIndex(): ReadonlyMap<string, number> {
    const lazy = this.lazy;
    if (lazy === undefined) return new Map();
    if (this.lazyIndex === undefined) {
      this.lazyIndex = new Map();
      for (let i = 0; i < lazy.count; i++) this.lazyIndex.set(lazy.name(i), i);
    }
    return this.lazyIndex;
  }

  get size(): number {
    return this.lazy ? this.lazy.count : this.entries.length;
  }

  /** Looks up the name in buf[s, e) whose hash (hashNameByte over the bytes from NAME_HASH_SEED) is h. */
  lookupBytes(buf: Uint8Array, s: number, e: number, h: number): CatalogueEvent | undefined {
    if (this.lazy || this.placed < this.entries.length) this.placeAll();
    const mask = this.slots.length - 1;
    let i = h & mask;
    for (;;) {
      const idx = this.slots[i]!;
      if (idx < 0) return undefined;
      if (this.slotHash[i] === h) {
        const ev = this.entries[idx]!;
        const nb = ev.nameBytes;
        if (nb.length === e - s) {
          let k = 0;
          while (k < nb.length && nb[k] === buf[s + k]) k++;
          if (k === nb.length) return ev;
        }
      }
      i = (i + 1) & mask;
    }
  }

  /**
   * Puts the events added since the last lookup into the hash table (made at the first
   * lookup by bytes: a simpletrace file looks events up by name only).
   */
  private placeAll(): void {
    const events = this.events;
    if (events.length * 2 > this.slots.length) {
      let size = this.slots.length;
      while (events.length * 2 > size) size *= 4;
      this.slots = new Int32Array(size).fill(-1);
      this.slotHash = new Int32Array(size);
      this.placed = 0;
    }
    for (; this.placed < events.length; this.placed++) this.place(events[this.placed]!);
  }

  private place(ev: CatalogueEvent): void {
    let h = NAME_HASH_SEED;
    for (const c of ev.nameBytes) h = hashNameByte(h, c);
    const mask = this.slots.length - 1;
    let i = h & mask;
    while (this.slots[i]! >= 0) i = (i + 1) & mask;
    this.slots[i] = ev.index;
    this.slotHash[i] = h;
  }

  /** Plain declarations, e.g. to hand the catalogue to a worker. */
  decls(): TraceEventDecl[] {
    return this.events.map((e) => e.decl);
  }
}

/** Parses trace-events text (one file or a concatenated trace-events-all). */
export function catalogueFromText(text: string, file: string): Catalogue {
  const parsed = parseTraceEvents(text, file);
  return new Catalogue(parsed.events, file, parsed.errors);
}

/**
 * Loads every `trace-events` file under dir (a QEMU tree or a copy) into one catalogue,
 * in sorted path order so duplicates are reported the same way each time. A folder
 * holding only `trace-events-all` (a build tree) is read through that file.
 */
export async function loadCatalogueFromDir(dir: string): Promise<Catalogue> {
  const files: string[] = [];
  let all: string | undefined;
  async function walk(d: string): Promise<void> {
    const entries = await readdir(d, { withFileTypes: true });
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (e.name === '.git' || e.name === 'node_modules') continue;
        await walk(p);
      } else if (e.name === 'trace-events') files.push(p);
      else if (e.name === 'trace-events-all' && all === undefined) all = p;
    }
  }
  await walk(dir);
  const chosen = files.length > 0 ? files : all !== undefined ? [all] : [];
  if (chosen.length === 0) throw new Error(`no trace-events files under ${dir}`);
  const cat = new Catalogue([], dir);
  for (const f of chosen) {
    const parsed = parseTraceEvents(await readFile(f, 'utf8'), relative(dir, f) || f);
    cat.errors.push(...parsed.errors);
    for (const d of parsed.events) cat.add(d);
  }
  return cat;
}
