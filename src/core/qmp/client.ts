import * as net from 'node:net';
import {
  QmpConnectionError,
  QmpError,
  QmpOobUnavailableError,
  QmpProtocolError,
  QmpTimeoutError,
  abortError,
  describeSocketError,
  reworded,
} from './errors';
import { LineSplitter } from './lineSplitter';
import { checkReply, type QmpReplies } from './replies';
import {
  classify,
  parseMessage,
  type QmpEvent,
  type QmpGreeting,
  type QmpIncoming,
  type QmpTranscriptEntry,
} from './messages';
import { notASocket, unixSocketPathProblem } from './socketPath';
import { describeTarget, formatQmpTarget, parseQmpTarget, type QmpTarget } from './target';

export interface QmpConnectOptions {
  /** Limit for connecting, the greeting and capability negotiation together. Default 10 000 ms. */
  connectTimeoutMs?: number;
  /** Default per-command limit; 0 disables it. Default 60 000 ms. */
  commandTimeoutMs?: number;
  /** Largest message accepted from the peer, in bytes. Default 64 MiB. */
  maxMessageBytes?: number;
  /** Called for every message sent and received, e.g. to keep a protocol log. */
  onTranscript?: (e: QmpTranscriptEntry) => void;
  /** Aborts connecting; once connected, aborting closes the connection. */
  signal?: AbortSignal;
  /** Ask for the `oob` capability when the greeting offers it. Default true. */
  enableOob?: boolean;
}

export interface QmpExecuteOptions {
  /** Overrides the connection's commandTimeoutMs for this command; 0 disables it. */
  timeoutMs?: number;
  /** Send as `exec-oob` (the connection must have `oob` enabled). */
  oob?: boolean;
  /** Stops waiting for the reply; a late reply is then ignored. */
  signal?: AbortSignal;
}

export interface QmpWaitOptions {
  timeoutMs?: number;
  filter?: (e: QmpEvent) => boolean;
  signal?: AbortSignal;
}

export const defaultConnectTimeoutMs = 10_000;
export const defaultCommandTimeoutMs = 60_000;
export const defaultMaxMessageBytes = 64 * 1024 * 1024;

interface Pending {
  command: string;
  oob: boolean;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  cleanup: () => void;
}

type State = 'connecting' | 'greeting' | 'negotiating' | 'ready' | 'closed';

function checkMs(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a non-negative number of milliseconds, got ${v}`);
  return v;
}

/** Runs a user callback so that its exception surfaces without corrupting the client's state. */
function callSafely(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    queueMicrotask(() => {
      throw e;
    });
  }
}

/**
 * A QMP connection: greeting and capability negotiation, pipelined commands matched by id,
 * out-of-band commands, events. Every promise it hands out settles: by a reply, a timeout,
 * or the connection's end, whose reason the rejection names.
 */
export class QmpClient {
  readonly target: QmpTarget;
  private state: State = 'connecting';
  private greetingValue: QmpGreeting | undefined;
  private oob = false;
  private closeReason: Error | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Ids whose caller stopped waiting; their late replies are dropped. */
  private readonly abandoned = new Set<number>();
  private readonly eventListeners = new Set<(e: QmpEvent) => void>();
  private readonly closeListeners = new Set<(err: Error | undefined) => void>();
  private readonly splitter: LineSplitter;
  private readonly socket: net.Socket;
  private readonly socketClosed: Promise<void>;
  private readonly commandTimeoutMs: number;
  private readonly transcript: ((e: QmpTranscriptEntry) => void) | undefined;
  /** While set, received lines are queued instead of handled (see finishNegotiation). */
  private held: string[] | undefined;
  /** Set by open() until the greeting arrives. */
  private greetingHandler: ((g: QmpGreeting) => void) | undefined;
  private opening: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private detachSignal: (() => void) | undefined;

  private constructor(target: QmpTarget, options: QmpConnectOptions) {
    this.target = target;
    this.commandTimeoutMs = checkMs('commandTimeoutMs', options.commandTimeoutMs, defaultCommandTimeoutMs);
    this.splitter = new LineSplitter(options.maxMessageBytes ?? defaultMaxMessageBytes);
    this.transcript = options.onTranscript;
    this.socket =
      target.kind === 'unix'
        ? net.createConnection({ path: target.path })
        : net.createConnection({ host: target.host, port: target.port });
    this.socketClosed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.socket.on('connect', () => {
      if (this.state === 'connecting') this.state = 'greeting';
      if (target.kind === 'tcp') this.socket.setNoDelay(true);
    });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err) => this.onSocketError(err));
    this.socket.on('close', () => this.onSocketClose());
  }

  /** Connects, reads the greeting and leaves capability-negotiation mode (enabling `oob` when offered). */
  static async connect(target: QmpTarget | string, options: QmpConnectOptions = {}): Promise<QmpClient> {
    const t = typeof target === 'string' ? parseQmpTarget(target) : target;
    const connectTimeoutMs = checkMs('connectTimeoutMs', options.connectTimeoutMs, defaultConnectTimeoutMs);
    const signal = options.signal;
    if (signal?.aborted) throw abortError(signal, `connecting to ${describeTarget(t)}`);
    const badPath = t.kind === 'unix' ? unixSocketPathProblem(t.path) : undefined;
    if (badPath !== undefined) throw new QmpConnectionError(`cannot connect to ${describeTarget(t)}: ${badPath}`);
    const client = new QmpClient(t, options);
    await client.open(connectTimeoutMs, options.enableOob ?? true, signal);
    return client;
  }

  get greeting(): QmpGreeting {
    if (!this.greetingValue) throw new Error('QMP greeting not received yet');
    return this.greetingValue;
  }

  get oobEnabled(): boolean {
    return this.oob;
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  /** Why the connection ended: undefined while open or after close(). */
  get closeError(): Error | undefined {
    return this.closeReason;
  }

  /** Number of commands awaiting a reply. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Sends a command and resolves with its reply. The replies of the commands in QmpReplies
   * are checked (replies.ts) and typed; a reply of the wrong shape rejects with QmpReplyError.
   */
  execute<C extends keyof QmpReplies>(command: C, args?: Record<string, unknown>, opts?: QmpExecuteOptions): Promise<QmpReplies[C]>;
  execute<T = unknown>(command: string, args?: Record<string, unknown>, opts?: QmpExecuteOptions): Promise<T>;
  execute(command: string, args?: Record<string, unknown>, opts: QmpExecuteOptions = {}): Promise<unknown> {
    if (this.state !== 'ready') {
      return Promise.reject(this.notOpenError(command));
    }
    const oob = opts.oob ?? false;
    if (oob && !this.oob) {
      return Promise.reject(new QmpOobUnavailableError(command, this.greetingValue?.capabilities ?? []));
    }
    let timeoutMs: number;
    try {
      timeoutMs = checkMs('timeoutMs', opts.timeoutMs, this.commandTimeoutMs);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.send(command, args, oob, timeoutMs, opts.signal);
  }

  /** Runs a human monitor command line (`info migrate`) and returns its text output. */
  async hmp(commandLine: string, opts: QmpExecuteOptions = {}): Promise<string> {
    return this.execute('human-monitor-command', { 'command-line': commandLine }, opts);
  }

  /** Subscribes to every event; returns the unsubscribe function. */
  onEvent(listener: (e: QmpEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => {
      this.eventListeners.delete(listener);
    };
  }

  /** Resolves with the next event called `name` (passing `filter`, when given). */
  waitForEvent(name: string, opts: QmpWaitOptions = {}): Promise<QmpEvent> {
    if (this.state !== 'ready') return Promise.reject(this.notOpenError(`wait for event ${name}`));
    const { filter, signal } = opts;
    if (signal?.aborted) return Promise.reject(abortError(signal, `waiting for QMP event ${name}`));
    let timeoutMs: number;
    try {
      timeoutMs = checkMs('timeoutMs', opts.timeoutMs, 0);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<QmpEvent>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        offEvent();
        offClose();
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const offEvent = this.onEvent((e) => {
        if (e.event !== name) return;
        try {
          if (filter && !filter(e)) return;
        } catch (err) {
          done();
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        done();
        resolve(e);
      });
      const offClose = this.onClose((err) => {
        done();
        const why = err ?? new QmpConnectionError('the client closed the connection');
        reject(reworded(why, `stopped waiting for QMP event ${name}`));
      });
      const onAbort = (): void => {
        done();
        reject(abortError(signal as AbortSignal, `waiting for QMP event ${name}`));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          done();
          reject(new QmpTimeoutError(`no QMP event ${name} within ${timeoutMs} ms`, timeoutMs));
        }, timeoutMs);
      }
    });
  }

  /** Called once when the connection ends: with the reason, or undefined after close(). */
  onClose(listener: (err: Error | undefined) => void): () => void {
    if (this.state === 'closed') {
      const reason = this.closeReason;
      let live = true;
      queueMicrotask(() => {
        if (live) listener(reason);
      });
      return () => {
        live = false;
      };
    }
    this.closeListeners.add(listener);
    return () => {
      this.closeListeners.delete(listener);
    };
  }

  /** Closes the connection; pending commands reject. Idempotent; resolves once the socket is gone. */
  async close(): Promise<void> {
    if (this.state !== 'closed') this.shutDown(undefined);
    await this.socketClosed;
  }

  // ---- connection lifecycle -------------------------------------------------

  private open(timeoutMs: number, enableOob: boolean, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = (): void => {
        if (timer) clearTimeout(timer);
        this.opening = undefined;
      };
      this.opening = {
        resolve: () => {
          settle();
          resolve();
        },
        reject: (e) => {
          settle();
          reject(e);
        },
      };
      if (timeoutMs > 0) {
        timer = setTimeout(() => this.shutDown(this.connectTimeoutError(timeoutMs)), timeoutMs);
      }
      if (signal) {
        const onAbort = (): void => this.shutDown(abortError(signal, `QMP connection to ${formatQmpTarget(this.target)}`));
        signal.addEventListener('abort', onAbort, { once: true });
        this.detachSignal = () => signal.removeEventListener('abort', onAbort);
      }
      this.greetingHandler = (greeting) => {
        this.greetingValue = greeting;
        this.state = 'negotiating';
        const wantOob = enableOob && greeting.capabilities.includes('oob');
        this.send('qmp_capabilities', wantOob ? { enable: ['oob'] } : undefined, false, 0, undefined).then(
          () => {
            if (this.state !== 'negotiating') return;
            this.oob = wantOob;
            this.state = 'ready';
            this.finishNegotiation();
            this.opening?.resolve();
          },
          (e: unknown) => {
            if (this.state !== 'closed') this.shutDown(e instanceof Error ? e : new Error(String(e)));
          },
        );
      };
    });
  }

  /**
   * Lines that arrived after the qmp_capabilities reply are handled on a later turn, so that
   * the caller of connect() can subscribe to events before any is dispatched.
   */
  private finishNegotiation(): void {
    this.held ??= [];
    setImmediate(() => {
      const lines = this.held ?? [];
      this.held = undefined;
      for (const line of lines) {
        if (this.state === 'closed') return;
        this.handleLine(line);
      }
    });
  }

  private connectTimeoutError(ms: number): QmpTimeoutError {
    const where = describeTarget(this.target);
    switch (this.state) {
      case 'connecting':
        return new QmpTimeoutError(`cannot connect to ${where}: no connection within ${ms} ms`, ms);
      case 'greeting':
        return new QmpTimeoutError(
          `${where} sent no QMP greeting within ${ms} ms (QEMU serves one client per QMP socket: is another one connected?)`,
          ms,
        );
      default:
        return new QmpTimeoutError(`${where} did not answer qmp_capabilities within ${ms} ms`, ms);
    }
  }

  private notOpenError(what: string): Error {
    const why = this.closeReason ? this.closeReason.message : 'the client closed it';
    return new QmpConnectionError(`cannot ${what}: the connection to ${describeTarget(this.target)} is closed (${why})`);
  }

  private onSocketError(err: Error): void {
    if (this.state === 'closed') return;
    const where = describeTarget(this.target);
    if (this.state === 'connecting') {
      this.shutDown(new QmpConnectionError(`cannot connect to ${where}: ${this.connectFailure(err)}`, { cause: err }));
    } else {
      this.shutDown(new QmpConnectionError(`${where} failed: ${describeSocketError(err)}`, { cause: err }));
    }
  }

  /** Why connecting failed; for a unix path that is not a socket, what it is instead. */
  private connectFailure(err: Error): string {
    const code = (err as NodeJS.ErrnoException).code;
    if (this.target.kind === 'unix' && (code === 'ECONNREFUSED' || code === 'ENOTSOCK' || code === 'EINVAL')) {
      const what = notASocket(this.target.path);
      if (what !== undefined) return `${this.target.path} ${what} (give the PATH of QEMU's -qmp unix:PATH,server=on,wait=off)`;
      if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED): the socket exists but nothing listens on it (a QEMU that exited leaves its socket behind)';
    }
    return describeSocketError(err);
  }

  private onSocketClose(): void {
    if (this.state === 'closed') return;
    const where = describeTarget(this.target);
    const during =
      this.state === 'greeting'
        ? ' before sending a QMP greeting'
        : this.state === 'negotiating'
          ? ' during capability negotiation'
          : '';
    const partial = this.splitter.pendingBytes;
    const tail = partial > 0 ? ` (in the middle of a message, ${partial} bytes received)` : '';
    this.shutDown(new QmpConnectionError(`${where}: the peer closed the connection${during}${tail}`));
  }

  /** The single way into the closed state. `reason` undefined means close() by the client. */
  private shutDown(reason: Error | undefined): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = reason;
    this.held = undefined;
    this.detachSignal?.();
    this.socket.destroy();
    const cause = reason ?? new QmpConnectionError('the client closed the connection');
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      p.cleanup();
      p.reject(reworded(cause, `QMP command '${p.command}' got no reply`));
    }
    this.opening?.reject(cause);
    const listeners = [...this.closeListeners];
    this.closeListeners.clear();
    this.eventListeners.clear();
    for (const l of listeners) callSafely(() => l(reason));
  }

  // ---- sending -----------------------------------------------------------------

  private send(
    command: string,
    args: Record<string, unknown> | undefined,
    oob: boolean,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    if (signal?.aborted) return Promise.reject(abortError(signal, `QMP command '${command}'`));
    const id = this.nextId++;
    const message: Record<string, unknown> = oob ? { 'exec-oob': command } : { execute: command };
    if (args !== undefined) message['arguments'] = args;
    message['id'] = id;
    let text: string;
    try {
      text = JSON.stringify(message);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      return Promise.reject(new TypeError(`arguments of QMP command '${command}' are not JSON-serialisable: ${why}`));
    }
    return new Promise<unknown>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        this.abandon(id);
        reject(abortError(signal as AbortSignal, `QMP command '${command}'`));
      };
      const cleanup = (): void => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          this.abandon(id);
          reject(new QmpTimeoutError(`QMP command '${command}' got no reply within ${timeoutMs} ms`, timeoutMs));
        }, timeoutMs);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, { command, oob, resolve, reject, cleanup });
      this.record('out', 'command', message);
      this.socket.write(text + '\n');
    });
  }

  private abandon(id: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    p.cleanup();
    this.pending.delete(id);
    this.abandoned.add(id);
  }

  private record(direction: QmpTranscriptEntry['direction'], kind: QmpTranscriptEntry['kind'], message: unknown): void {
    const t = this.transcript;
    if (t) callSafely(() => t({ time: Date.now(), direction, kind, message }));
  }

  // ---- receiving ---------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    const { lines, overflow } = this.splitter.push(chunk);
    for (const line of lines) {
      if (this.closed) return;
      if (this.held) this.held.push(line);
      else this.handleLine(line);
    }
    if (overflow && !this.closed) {
      this.shutDown(new QmpProtocolError(`${describeTarget(this.target)}: ${overflow.message}`));
    }
  }

  private handleLine(line: string): void {
    if (line.trim() === '') return;
    let msg: QmpIncoming;
    let raw: Record<string, unknown>;
    try {
      raw = parseMessage(line);
      msg = classify(raw);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      this.shutDown(err instanceof QmpProtocolError ? new QmpProtocolError(`${describeTarget(this.target)}: ${err.message}`) : err);
      return;
    }
    switch (msg.kind) {
      case 'greeting':
        this.onGreeting(raw, msg.greeting);
        return;
      case 'event':
        this.onEventMessage(raw, msg.event);
        return;
      case 'return':
      case 'error':
        this.onReply(raw, msg);
        return;
    }
  }

  private onGreeting(raw: unknown, greeting: QmpGreeting): void {
    this.record('in', 'greeting', raw);
    const handler = this.greetingHandler;
    if (this.state !== 'greeting' || !handler) {
      this.shutDown(new QmpProtocolError(`${describeTarget(this.target)} sent a second QMP greeting`));
      return;
    }
    this.greetingHandler = undefined;
    handler(greeting);
  }

  private onEventMessage(raw: unknown, event: QmpEvent): void {
    this.record('in', 'event', raw);
    if (this.state === 'greeting') {
      this.shutDown(new QmpProtocolError(`${describeTarget(this.target)} sent an event before its QMP greeting`));
      return;
    }
    for (const l of [...this.eventListeners]) {
      if (this.state === 'closed') return;
      callSafely(() => l(event));
    }
  }

  private onReply(raw: unknown, msg: Extract<QmpIncoming, { kind: 'return' | 'error' }>): void {
    this.record('in', msg.kind === 'return' ? 'reply' : 'error', raw);
    let id: number | undefined;
    if (msg.hasId) {
      if (typeof msg.id === 'number' && this.pending.has(msg.id)) id = msg.id;
      else if (typeof msg.id === 'number' && this.abandoned.delete(msg.id)) return;
    } else if (msg.kind === 'error') {
      // QEMU answers a request it could not parse with an id-less error; in-band commands
      // are answered in order, so it belongs to the oldest one.
      for (const [k, p] of this.pending) {
        if (!p.oob) {
          id = k;
          break;
        }
      }
    }
    const p = id === undefined ? undefined : this.pending.get(id);
    if (id === undefined || !p) {
      const idText = msg.hasId ? `id ${JSON.stringify(msg.id)}` : 'no id';
      this.shutDown(
        new QmpProtocolError(
          `${describeTarget(this.target)} sent a reply with ${idText} that matches no command awaiting one: ${JSON.stringify(raw).slice(0, 200)}`,
        ),
      );
      return;
    }
    this.pending.delete(id);
    p.cleanup();
    // The qmp_capabilities reply: hold what follows until connect() has resolved.
    if (this.state === 'negotiating') this.held = [];
    if (msg.kind === 'error') {
      p.reject(new QmpError(msg.errorClass, msg.description, p.command));
      return;
    }
    let value: unknown;
    try {
      value = checkReply(p.command, msg.value);
    } catch (e) {
      p.reject(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    p.resolve(value);
  }
}
