/**
 * Everything the server knows about the workspace: its trace-events files (from disk, or
 * the editor's text while open), the events they declare by name, the tree versions and
 * the C call-site index. No LSP here: the features read it.
 */
import { readFile } from 'node:fs/promises';
import type { Parser } from 'web-tree-sitter';
import { parseEventsFile, LineScanCache, type EventDecl, type EventsFile } from './eventsFile';
import { CallIndex } from './index/callIndex';
import { rulesFor, TreeVersions, type TracetoolRules } from './qemuVersion';

export class TraceWorkspace {
  roots: string[] = [];
  private readonly files = new Map<string, EventsFile>();
  private readonly byName = new Map<string, EventDecl[]>();
  private readonly open = new Set<string>();
  readonly versions = new TreeVersions();
  readonly lineCache = new LineScanCache();
  readonly index: CallIndex;

  constructor(workerPath: string, parser: () => Promise<Parser>) {
    this.index = new CallIndex(workerPath, parser);
  }

  file(path: string): EventsFile | undefined {
    return this.files.get(path);
  }

  traceEventsFiles(): IterableIterator<EventsFile> {
    return this.files.values();
  }

  /** Sets a file's text (the editor's while it is open). */
  setText(path: string, text: string, fromEditor: boolean): EventsFile {
    if (fromEditor) this.open.add(path);
    else if (this.open.has(path)) return this.files.get(path)!;
    const f = parseEventsFile(path, text, this.lineCache);
    const old = this.files.get(path);
    if (old) for (const e of old.events) this.unlink(e);
    this.files.set(path, f);
    for (const e of f.events) {
      const l = this.byName.get(e.name);
      if (l) l.push(e); else this.byName.set(e.name, [e]);
    }
    return f;
  }

  /** The editor closed it: the disk's text counts again. */
  async closed(path: string): Promise<void> {
    this.open.delete(path);
    await this.loadFromDisk([path]);
  }

  remove(path: string): void {
    const old = this.files.get(path);
    if (!old) return;
    for (const e of old.events) this.unlink(e);
    this.files.delete(path);
    this.open.delete(path);
  }

  /** Reads trace-events files from disk; one that cannot be read (vanished, unreadable) is dropped. */
  async loadFromDisk(paths: readonly string[]): Promise<void> {
    await Promise.all(paths.map(async (p) => {
      if (this.open.has(p)) return;
      try {
        this.setText(p, await readFile(p, 'utf8'), false);
      } catch {
        this.remove(p);
      }
    }));
  }

  eventsNamed(name: string): readonly EventDecl[] {
    return this.byName.get(name) ?? [];
  }

  eventNames(): IterableIterator<string> {
    return this.byName.keys();
  }

  get eventCount(): number {
    return this.byName.size;
  }

  rulesOf(path: string): TracetoolRules {
    return rulesFor(this.versions.of(path).version);
  }

  private unlink(e: EventDecl): void {
    const l = this.byName.get(e.name);
    if (!l) return;
    const kept = l.filter((x) => x !== e);
    if (kept.length > 0) this.byName.set(e.name, kept); else this.byName.delete(e.name);
  }
}
