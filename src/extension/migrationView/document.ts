/**
 * The data side of one open migration view, without VS Code: reads its traces (worker
 * threads) into the analysis it keeps (a LiveMigration: the model, not the traces' events),
 * answers every `ready` of the webview (first load, the tab shown again after being hidden)
 * from it instead of reading again, and follows growing traces: a worker per file tails it
 * from where the read ended, the new events go into the analysis, and what they changed
 * goes to the webview as a delta at most every FOLLOW_POST_MS. It runs in the panel's scope:
 * disposing the scope (the panel closed, the window reloading) cancels a read in progress
 * and ends the follow workers.
 */
import type { LoadedMigration, LoadOptions } from '../../core/analysis/load';
import { loadMigration, transcriptBeside } from '../../core/analysis/load';
import type { LiveMigration } from '../../core/analysis/live';
import type { Side } from '../../core/analysis/model';
import type { Catalogue } from '../../core/trace/catalogue';
import { choiceText, type ResolveOptions } from '../../core/trace/catalogueResolver';
import type { FollowResume } from '../../core/trace/follow';
import { CancelledError, detectCompression } from '../../core/trace/source';
import { followTraceInWorker } from '../../core/trace/workerClient';
import type { ToWebview } from '../../webview/migrationView/protocol';
import type { Scope } from '../scope';

/** A delta at most this often while following (the webview draws at most as often). */
const FOLLOW_POST_MS = 200;
/** How often a follow worker looks for new bytes (a stat of the file). */
const FOLLOW_POLL_MS = 50;

export interface DocumentLog {
  info(text: string): void;
  warn(text: string): void;
  error(text: string): void;
}

/** Shows a read's progress (a notification in VS Code); its signal is the user's cancel. */
export type ShowProgress = <T>(title: string, run: (report: (read: number, total: number) => void, cancel: AbortSignal) => Promise<T>) => Promise<T>;

export interface DocumentOptions {
  readonly title: string;
  readonly post: (message: ToWebview) => void;
  readonly log: DocumentLog;
  /** The candidate catalogues (the user's QEMU trees) the resolver chooses from, per read. */
  readonly catalogues: () => ResolveOptions;
  readonly showProgress?: ShowProgress | undefined;
  /** Reads the traces; loadMigration by default (tests count the reads). */
  readonly load?: ((files: readonly string[], opts: LoadOptions) => Promise<LoadedMigration>) | undefined;
  /** Said when none of the files can be followed. */
  readonly notFollowable?: (() => void) | undefined;
  /** Follow workers' script (tests under tsx); the bundled one by default. */
  readonly workerScript?: string | undefined;
}

/** What the document keeps of a trace after reading it: enough to open its lines and follow it. */
export interface TraceRef {
  readonly path: string;
  readonly side: Side;
  readonly positionKind: 'line' | 'byteOffset';
  readonly catalogue: Catalogue;
  /** Where following goes on (plain log files only). */
  resume: FollowResume | null;
}

const noProgress: ShowProgress = (_title, run) => run(() => undefined, new AbortController().signal);

export class MigrationDocument {
  private live: LiveMigration | null = null;
  private refs: TraceRef[] = [];
  private loading: Promise<void> | null = null;
  private follow: AbortController | null = null;
  private postTimer: ReturnType<typeof setTimeout> | undefined;
  /** Number of the last model or delta posted; a delta names the one it adds to. */
  private seq = 0;
  /** A followed file started over: the next post is a whole model. */
  private wholeNext = false;
  /** When the last delta was posted while following (performance.now()). */
  private lastPost = -Infinity;

  constructor(readonly files: readonly string[], private readonly scope: Scope, private readonly opts: DocumentOptions) {
    scope.onDispose(() => this.stopFollow());
  }

  get following(): boolean { return this.follow !== null; }

  /** The webview (re)started: it gets the model kept, or the one being read, or a first read starts. */
  ready(): Promise<void> {
    if (this.live) { this.postModel(); return Promise.resolve(); }
    this.loading ??= this.load().finally(() => { this.loading = null; });
    return this.loading;
  }

  private async load(): Promise<void> {
    const { title } = this.opts;
    this.opts.post({ type: 'loading', title, files: this.files });
    const t0 = performance.now();
    try {
      const read = this.opts.load ?? loadMigration;
      const loaded = await (this.opts.showProgress ?? noProgress)(`Reading ${title}`, (report, cancel) =>
        read(this.files, { catalogues: this.opts.catalogues(), signal: AbortSignal.any([this.scope.signal, cancel]), onProgress: report }));
      if (this.scope.disposed) return;
      this.refs = await Promise.all(loaded.traces.map(async (t) => ({
        path: t.path, side: t.side, positionKind: t.store.positionKind, catalogue: t.catalogue,
        // Follow goes on where the read ended, in plain log files.
        resume: t.store.positionKind === 'line' && (await detectCompression(t.path)) === 'none' ? { offset: t.store.bytes, line: t.store.lines, base: t.store.base } : null,
      })));
      // The traces' events are let go: the analysis keeps what the model holds.
      this.live = loaded.live;
      for (const t of loaded.traces) this.opts.log.info(`migration view: ${t.path}: ${choiceText(t.choice)}`);
      this.opts.log.info(`migration view: read ${this.files.join(', ')} in ${(performance.now() - t0).toFixed(0)} ms`);
      this.post({ type: 'model', title, files: this.files, model: loaded.model, live: false, following: this.follow !== null, seq: ++this.seq });
    } catch (e) {
      if (e instanceof CancelledError) {
        this.opts.log.info(`migration view: reading ${this.files.join(', ')} ${this.scope.disposed ? 'stopped: the view was closed' : 'cancelled'}`);
        if (!this.scope.disposed) this.opts.post({ type: 'error', message: `Reading ${title} was cancelled.` });
        return;
      }
      throw e;
    }
  }

  private post(m: ToWebview): void {
    if (!this.scope.disposed) this.opts.post(m);
  }

  /** The whole model as it is now; deltas go on from it. */
  private postModel(): void {
    if (!this.live) return;
    this.wholeNext = false;
    this.post({ type: 'model', title: this.opts.title, files: this.files, model: this.live.model(), live: this.follow !== null, following: this.follow !== null, seq: ++this.seq });
  }

  /** What was added since the last post, or the whole model after a file started over. */
  private postDelta(): void {
    if (!this.live) return;
    if (this.wholeNext) { this.postModel(); return; }
    const from = this.seq;
    this.post({ type: 'delta', title: this.opts.title, delta: this.live.takeDelta(), following: this.follow !== null, seq: ++this.seq, from });
  }

  /** The trace of a side (or the only file). */
  traceOf(side: Side): Pick<TraceRef, 'path' | 'positionKind'> | undefined {
    return this.refs.find((t) => t.side === side) ?? (this.files.length === 1 ? { path: this.files[0]!, positionKind: 'line' } : undefined);
  }

  async setFollow(enabled: boolean): Promise<void> {
    if (!enabled) { this.stopFollow(); this.postDelta(); return; }
    await this.startFollow();
  }

  /** Follows every plain log in a worker of its own, from where its read ended. */
  private async startFollow(): Promise<void> {
    if (this.follow || this.scope.disposed || !this.live) return;
    const follow = new AbortController();
    this.follow = follow;
    const live = this.live;
    // A lab run may still be writing the QMP transcript beside the traces.
    live.setTranscript(await transcriptBeside(this.files));
    const followable = this.refs.filter((r) => r.resume !== null);
    if (!followable.length) this.opts.notFollowable?.();
    const signal = AbortSignal.any([follow.signal, this.scope.signal]);
    for (const ref of followable) {
      const i = this.refs.indexOf(ref);
      followTraceInWorker(ref.path, ref.catalogue, {
        signal, resume: ref.resume ?? undefined, intervalMs: FOLLOW_POLL_MS, workerScript: this.opts.workerScript,
        onBatch: (batch, next) => { live.append(i, batch); ref.resume = next; this.schedulePost(); },
        onReset: (reason) => {
          this.opts.log.info(`follow ${ref.path}: the file was ${reason}, read again from its start`);
          live.reset(i);
          ref.resume = { offset: 0, line: 0, base: null };
          this.wholeNext = true;
          this.schedulePost();
        },
        onProblem: (m) => this.opts.log.warn(`follow ${ref.path}: ${m}`),
      }).catch((e: unknown) => this.opts.log.error(`follow ${ref.path}: ${e instanceof Error ? e.message : String(e)}`));
    }
    // The view says it is following.
    this.postDelta();
  }

  /** Posts at once when the last post is FOLLOW_POST_MS old, else when it will be. */
  private schedulePost(): void {
    if (this.postTimer !== undefined || !this.follow) return;
    this.postTimer = setTimeout(() => {
      this.postTimer = undefined;
      if (!this.follow) return;
      this.lastPost = performance.now();
      this.postDelta();
    }, Math.max(0, this.lastPost + FOLLOW_POST_MS - performance.now()));
  }

  private stopFollow(): void {
    this.follow?.abort();
    this.follow = null;
    clearTimeout(this.postTimer);
    this.postTimer = undefined;
  }
}
