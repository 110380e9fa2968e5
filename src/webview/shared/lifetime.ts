/**
 * What a webview object started and has to undo when it goes: DOM listeners (added with
 * the lifetime's signal), observers, timers and animation frames. Ending a lifetime ends
 * its children first; ending it twice does nothing.
 */
export class Lifetime {
  private readonly controller = new AbortController();
  private readonly undo: (() => void)[] = [];

  /** Pass as `{ signal }` to addEventListener: the listener goes when the lifetime ends. */
  get signal(): AbortSignal { return this.controller.signal; }

  get ended(): boolean { return this.controller.signal.aborted; }

  /** Runs fn when the lifetime ends (at once if it has ended). */
  onEnd(fn: () => void): void {
    if (this.ended) { fn(); return; }
    this.undo.push(fn);
  }

  /** An observer (ResizeObserver, MutationObserver, …) disconnected when the lifetime ends. */
  observer<T extends { disconnect(): void }>(o: T): T {
    this.onEnd(() => o.disconnect());
    return o;
  }

  /** A lifetime ended with this one (or earlier, by itself). */
  child(): Lifetime {
    const c = new Lifetime();
    this.onEnd(() => c.end());
    return c;
  }

  end(): void {
    if (this.ended) return;
    this.controller.abort();
    for (const fn of this.undo.splice(0).reverse()) fn();
  }
}

/** A setTimeout that a lifetime clears; scheduling again replaces the pending call. */
export class Timer {
  private id: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly lifetime: Lifetime) {
    lifetime.onEnd(() => this.cancel());
  }

  schedule(fn: () => void, ms: number): void {
    this.cancel();
    if (this.lifetime.ended) return;
    this.id = setTimeout(() => { this.id = undefined; fn(); }, ms);
  }

  cancel(): void {
    if (this.id !== undefined) clearTimeout(this.id);
    this.id = undefined;
  }
}

/** One pending animation frame at a time, cancelled when the lifetime ends. */
export class FrameRequest {
  private id = 0;

  constructor(private readonly lifetime: Lifetime) {
    lifetime.onEnd(() => { if (this.id) cancelAnimationFrame(this.id); this.id = 0; });
  }

  /** Requests fn for the next frame unless a frame is already pending. */
  request(fn: () => void): void {
    if (this.id || this.lifetime.ended) return;
    this.id = requestAnimationFrame(() => { this.id = 0; fn(); });
  }
}
