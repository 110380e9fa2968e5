/**
 * The C call-site index on the server's main thread: records per file, looked up by event.
 * A whole-tree build runs in the index worker; single files (an edited document, a file
 * changed on disk) are indexed here, each in a few milliseconds.
 */
import { Worker } from 'node:worker_threads';
import type { Parser } from 'web-tree-sitter';
import type { CallRecord, FileRecord, GuardRecord } from './fileRecord';
import { indexBytes } from './fileRecord';
import { indexFileFromDisk } from './buildIndex';
import { isWorkerMessage, type IndexRequest, type IndexStats } from './workerProtocol';

export interface CallSite {
  readonly file: string;
  readonly record: CallRecord;
}

export interface GuardSite {
  readonly file: string;
  readonly record: GuardRecord;
}

export interface BuildEvents {
  /** The trace-events files the walk found. */
  traceEventsFound(paths: readonly string[]): void;
  /** Calls found so far, of a tree of cFiles C files. */
  progress(callsFound: number, cFiles: number): void;
}

export class CallIndex {
  private readonly files = new Map<string, FileRecord>();
  private readonly calls = new Map<string, CallSite[]>();
  private readonly guards = new Map<string, GuardSite[]>();
  private readonly defined = new Map<string, number>();
  private workers: Worker[] = [];
  private generation = 0;
  /** Set while a build runs; resolves when it ends (done, failed or cancelled). */
  private building: Promise<void> | undefined;
  lastStats: IndexStats | undefined;
  lastError: string | undefined;
  ready = false;

  constructor(private readonly workerPath: string, private readonly parser: () => Promise<Parser>) {}

  /**
   * Replaces the whole index by a build of `roots` in `shards` workers (each reads every
   * shards-th C file of the walk); a build already running is cancelled.
   */
  rebuild(roots: readonly string[], events: BuildEvents, shards = 1): Promise<void> {
    this.cancel();
    const gen = ++this.generation;
    this.ready = false;
    this.clear();
    const workers = Array.from({ length: Math.max(1, shards) }, () => new Worker(this.workerPath));
    this.workers = workers;
    let cFiles = 0;
    let calls = 0;
    const stats: IndexStats[] = [];
    this.building = new Promise<void>((resolve) => {
      let open = workers.length;
      const ended = new Set<Worker>();
      const finish = (w: Worker): void => {
        if (ended.has(w)) return;
        ended.add(w);
        void w.terminate();
        if (--open > 0) return;
        if (this.workers === workers) this.workers = [];
        if (gen === this.generation) {
          this.ready = true;
          if (stats.length === workers.length) {
            this.lastError = undefined;
            this.lastStats = stats.reduce((a, x) => ({ cFiles: a.cFiles + x.cFiles, candidates: a.candidates + x.candidates, bytesRead: a.bytesRead + x.bytesRead, calls: a.calls + x.calls, unreadable: a.unreadable + x.unreadable, ms: Math.max(a.ms, x.ms) }));
          }
        }
        resolve();
      };
      for (const worker of workers) {
        worker.on('message', (m: unknown) => {
          if (gen !== this.generation || !isWorkerMessage(m)) return;
          switch (m.type) {
            case 'files': cFiles = m.cFiles; events.traceEventsFound(m.traceEvents); break;
            case 'records':
              for (const r of m.records) { if (!this.openDocs.has(r.path)) { this.put(r); calls += r.calls.length; } }
              events.progress(calls, cFiles);
              break;
            case 'done': stats.push(m.stats); finish(worker); break;
            case 'failed': this.lastError = m.message; finish(worker); break;
          }
        });
        worker.on('error', (e) => { if (gen === this.generation) this.lastError = e.message; finish(worker); });
        worker.on('exit', () => finish(worker));
      }
    });
    workers.forEach((w, shard) => {
      const req: IndexRequest = { type: 'index', roots, shard, shards: workers.length };
      w.postMessage(req);
    });
    return this.building;
  }

  /** Ends a running build (its partial records stay until the next build). */
  cancel(): void {
    const ws = this.workers;
    this.workers = [];
    this.generation++;
    for (const w of ws) void w.terminate();
  }

  /** Resolves when no build is running. */
  async whenReady(): Promise<void> {
    while (this.building) {
      const b = this.building;
      await b;
      if (this.building === b) this.building = undefined;
    }
  }

  /** Paths of documents open in the editor: their text, not the disk's, is indexed. */
  private readonly openDocs = new Set<string>();

  async updateFromText(path: string, text: string): Promise<FileRecord> {
    this.openDocs.add(path);
    const r = indexBytes(await this.parser(), path, Buffer.from(text, 'utf8'));
    this.put(r);
    return r;
  }

  async updateFromDisk(path: string): Promise<void> {
    this.openDocs.delete(path);
    const { record, readable } = indexFileFromDisk(await this.parser(), path);
    if (readable) this.put(record);
    else this.remove(path);
  }

  remove(path: string): void {
    this.openDocs.delete(path);
    const old = this.files.get(path);
    if (!old) return;
    this.files.delete(path);
    this.unlink(old);
  }

  record(path: string): FileRecord | undefined {
    return this.files.get(path);
  }

  callsOf(event: string): readonly CallSite[] {
    return this.calls.get(event) ?? [];
  }

  /** `TRACE_FOO` and `TRACE_FOO_ENABLED` guards of event foo. */
  guardsOf(event: string): readonly GuardSite[] {
    const up = event.toUpperCase();
    return [...(this.guards.get(`TRACE_${up}`) ?? []), ...(this.guards.get(`TRACE_${up}_ENABLED`) ?? [])];
  }

  /** Whether C code declares or defines a function or macro of this name (so it is not a missing event). */
  definedInC(event: string): boolean {
    return (this.defined.get(event) ?? 0) > 0;
  }

  private clear(): void {
    for (const p of [...this.files.keys()]) if (!this.openDocs.has(p)) this.remove(p);
  }

  private put(r: FileRecord): void {
    const old = this.files.get(r.path);
    if (old) this.unlink(old);
    if (r.calls.length === 0 && r.guards.length === 0 && r.definitions.length === 0 && !this.openDocs.has(r.path)) return;
    this.files.set(r.path, r);
    for (const c of r.calls) push(this.calls, c.event, { file: r.path, record: c });
    for (const g of r.guards) push(this.guards, g.ident, { file: r.path, record: g });
    for (const d of r.definitions) this.defined.set(d, (this.defined.get(d) ?? 0) + 1);
  }

  private unlink(r: FileRecord): void {
    for (const c of r.calls) drop(this.calls, c.event, r.path);
    for (const g of r.guards) drop(this.guards, g.ident, r.path);
    for (const d of r.definitions) {
      const n = (this.defined.get(d) ?? 1) - 1;
      if (n > 0) this.defined.set(d, n); else this.defined.delete(d);
    }
  }
}

function push<T>(m: Map<string, T[]>, k: string, v: T): void {
  const l = m.get(k);
  if (l) l.push(v); else m.set(k, [v]);
}

function drop<T extends { file: string }>(m: Map<string, T[]>, k: string, file: string): void {
  const l = m.get(k);
  if (!l) return;
  const kept = l.filter((x) => x.file !== file);
  if (kept.length > 0) m.set(k, kept); else m.delete(k);
}
