import { QmpClient, type QmpConnectOptions } from '../qmp/client';
import type { QmpTranscriptEntry } from '../qmp/messages';
import type { Role } from './checks';
import { MigrationMonitor, type MonitorOptions } from './monitor';

/** What is persisted per connection. */
export interface ConnectionSpec {
  id: string;
  label: string;
  role: Role;
  /** A QMP address as parseQmpTarget reads it: socket path, `unix:PATH`, `tcp:HOST:PORT`. */
  address: string;
}

export type ConnectionState =
  | { kind: 'connecting'; attempt: number }
  | { kind: 'connected' }
  | { kind: 'waiting'; attempt: number; retryAt: number; error: string }
  | { kind: 'stopped'; error?: string };

export interface SpecStore {
  load(): ConnectionSpec[];
  save(specs: ConnectionSpec[]): void | PromiseLike<void>;
}

export interface ManagerOptions {
  store?: SpecStore;
  monitor?: MonitorOptions;
  /** First reconnect delay; doubled per failed attempt up to maxBackoffMs. Default 500 ms. */
  baseBackoffMs?: number;
  /** Default 30 000 ms. */
  maxBackoffMs?: number;
  connectTimeoutMs?: number;
  onTranscript?: (spec: ConnectionSpec, e: QmpTranscriptEntry) => void;
}

export function backoffDelay(attempt: number, base: number, max: number): number {
  return Math.min(max, base * 2 ** Math.max(0, attempt - 1));
}

/** One connection kept alive: reconnects with back-off whenever QEMU goes away, until stopped. */
export class ManagedConnection {
  state: ConnectionState = { kind: 'stopped' };
  monitor: MigrationMonitor | undefined;
  private timer: NodeJS.Timeout | undefined;
  private generation = 0;
  private readonly listeners = new Set<() => void>();

  constructor(public spec: ConnectionSpec, private readonly opts: ManagerOptions) {}

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Connects now (cancelling a pending retry). */
  start(): void {
    this.generation++;
    clearTimeout(this.timer);
    void this.attempt(this.generation, 1);
  }

  /** Closes the connection and stops reconnecting. */
  async stop(error?: string): Promise<void> {
    this.generation++;
    clearTimeout(this.timer);
    const m = this.monitor;
    this.monitor = undefined;
    this.set(error === undefined ? { kind: 'stopped' } : { kind: 'stopped', error });
    if (m) {
      m.dispose();
      await m.client.close();
    }
  }

  private set(state: ConnectionState): void {
    this.state = state;
    for (const l of this.listeners) l();
  }

  private async attempt(gen: number, attempt: number): Promise<void> {
    this.set({ kind: 'connecting', attempt });
    const transcript = this.opts.onTranscript;
    const spec = this.spec;
    const options: QmpConnectOptions = {
      connectTimeoutMs: this.opts.connectTimeoutMs ?? 5000,
      ...(transcript ? { onTranscript: (e: QmpTranscriptEntry) => transcript(spec, e) } : {}),
    };
    let client: QmpClient | undefined;
    try {
      client = await QmpClient.connect(this.spec.address, options);
      const monitor = await MigrationMonitor.attach(client, { ...this.opts.monitor, role: this.spec.role });
      if (gen !== this.generation) {
        monitor.dispose();
        await client.close();
        return;
      }
      this.monitor = monitor;
      monitor.onChange(() => this.set(this.state));
      client.onClose((err) => {
        if (gen !== this.generation) return;
        monitor.dispose();
        this.monitor = undefined;
        this.retry(gen, 1, err ? err.message : 'QEMU closed the QMP connection');
      });
      this.set({ kind: 'connected' });
    } catch (e) {
      await client?.close();
      if (gen !== this.generation) return;
      this.retry(gen, attempt + 1, e instanceof Error ? e.message : String(e));
    }
  }

  private retry(gen: number, attempt: number, error: string): void {
    const delay = backoffDelay(attempt - 1, this.opts.baseBackoffMs ?? 500, this.opts.maxBackoffMs ?? 30_000);
    this.set({ kind: 'waiting', attempt, retryAt: Date.now() + delay, error });
    this.timer = setTimeout(() => {
      if (gen === this.generation) void this.attempt(gen, attempt);
    }, delay);
  }
}

/** The set of connections of a workspace, persisted through a SpecStore. */
export class ConnectionManager {
  private readonly connections = new Map<string, ManagedConnection>();
  /** Connections added for a session (a task, a debug session): shown, never saved. */
  private readonly sessionOnly = new Set<string>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly opts: ManagerOptions = {}) {}

  /** Adds the stored connections and starts connecting each. */
  restore(): void {
    for (const spec of this.opts.store?.load() ?? []) this.open(spec);
  }

  list(): ManagedConnection[] {
    return [...this.connections.values()];
  }

  get(id: string): ManagedConnection | undefined {
    return this.connections.get(id);
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Adds a connection and starts connecting. A saved one is stored with the others; one added
   * with `saved` false lasts only as long as what added it (it is never stored, even when
   * another change saves the list).
   */
  add(spec: ConnectionSpec, saved = true): ManagedConnection {
    if (saved) this.sessionOnly.delete(spec.id);
    else this.sessionOnly.add(spec.id);
    const c = this.open(spec);
    if (saved) void this.persist();
    return c;
  }

  private open(spec: ConnectionSpec): ManagedConnection {
    const existing = this.connections.get(spec.id);
    if (existing) void existing.stop();
    const c = new ManagedConnection(spec, this.opts);
    this.connections.set(spec.id, c);
    c.onChange(() => this.fire());
    c.start();
    this.fire();
    return c;
  }

  update(id: string, change: Partial<Omit<ConnectionSpec, 'id'>>): void {
    const c = this.connections.get(id);
    if (!c) return;
    c.spec = { ...c.spec, ...change };
    if (c.monitor && change.role) c.monitor.role = change.role;
    void this.persist();
    this.fire();
  }

  async remove(id: string): Promise<void> {
    const c = this.connections.get(id);
    if (!c) return;
    this.connections.delete(id);
    this.sessionOnly.delete(id);
    await c.stop();
    await this.persist();
    this.fire();
  }

  async dispose(): Promise<void> {
    const all = this.list();
    this.connections.clear();
    this.listeners.clear();
    await Promise.all(all.map((c) => c.stop()));
  }

  private async persist(): Promise<void> {
    await this.opts.store?.save(this.list().filter((c) => !this.sessionOnly.has(c.spec.id)).map((c) => c.spec));
  }

  private fire(): void {
    for (const l of this.listeners) l();
  }
}
