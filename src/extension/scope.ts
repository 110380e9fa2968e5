/**
 * A cleanup scope: what was started in it (disposables, reads and processes watching its
 * signal, child scopes) ends when it is disposed. The extension has one for its lifetime
 * (disposed on deactivate and window reload); each migration view panel and each QMP
 * connection has a child scope of it. Work that must finish before the extension host
 * exits (a lab run tearing its processes down) is tracked with `track` and awaited by
 * `settled`. Plain TypeScript: usable without VS Code.
 */
export interface Disposable { dispose(): unknown }

export class Scope implements Disposable {
  private readonly controller = new AbortController();
  private readonly owned: Disposable[] = [];
  private readonly pending = new Set<Promise<unknown>>();

  constructor(readonly name: string) {}

  /** Aborted when the scope is disposed: pass it to reads, waits and processes. */
  get signal(): AbortSignal { return this.controller.signal; }

  get disposed(): boolean { return this.controller.signal.aborted; }

  /** Disposed with the scope (at once if the scope is already disposed). */
  add<T extends Disposable>(d: T): T {
    if (this.disposed) { void d.dispose(); return d; }
    this.owned.push(d);
    return d;
  }

  onDispose(fn: () => void): void {
    this.add({ dispose: fn });
  }

  /** A scope disposed with this one, or earlier on its own (it then leaves this one's list). */
  child(name: string): Scope {
    const c = new Scope(`${this.name}/${name}`);
    const entry: Disposable = { dispose: () => c.dispose() };
    this.add(entry);
    c.onDispose(() => { const i = this.owned.indexOf(entry); if (i >= 0) this.owned.splice(i, 1); });
    return c;
  }

  /** Work that winds down after the signal aborts; `settled` waits for it. Returns the same promise. */
  track<T>(work: Promise<T>): Promise<T> {
    const p = work.then(() => undefined, () => undefined);
    this.pending.add(p);
    void p.then(() => this.pending.delete(p));
    return work;
  }

  /** Resolves when every tracked piece of work has ended, or after timeoutMs; true if all ended. */
  async settled(timeoutMs: number): Promise<boolean> {
    if (this.pending.size === 0) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); });
    try {
      return await Promise.race([Promise.all([...this.pending]).then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Aborts the signal, then disposes what was added, newest first. Errors are collected, not thrown halfway. */
  dispose(): void {
    if (this.disposed) return;
    this.controller.abort();
    const errors: unknown[] = [];
    for (const d of this.owned.splice(0).reverse()) {
      try {
        void d.dispose();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length) throw new AggregateError(errors, `disposing ${this.name}: ${errors.length} failed`);
  }
}
