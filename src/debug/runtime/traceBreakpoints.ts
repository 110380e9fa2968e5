/**
 * Trace events as function breakpoints. A breakpoint names an event or a glob
 * (`multifd_send_*`); it is enabled in each QEMU through `trace-event-set-state`, and each hit
 * is read back from that QEMU's `-D` log through the trace engine and reported decoded. QEMU
 * cannot halt on a trace event: a stop, when wanted, is sent after the hit has been read.
 */
import type { Catalogue } from '../../core/trace/catalogue';
import { followTrace } from '../../core/trace/follow';
import type { TraceStore } from '../../core/trace/store';
import type { QmpReplies } from '../../core/qmp/replies';
import type { SideName } from '../config';

export interface TraceBreakpointSpec {
  id: number;
  pattern: string;
  /** Stop the guest after a hit (late: the stop follows the hit). */
  stop: boolean;
}

export interface TraceHit {
  side: SideName;
  breakpointIds: number[];
  event: string;
  /** `name arg=value ...` as the trace engine decoded it. */
  text: string;
  /** Wall-clock time QEMU wrote the event (ms since the epoch), when its log has `-msg timestamp=on`. */
  eventTimeMs: number | undefined;
  /** When this process read the hit from the log. */
  readAtMs: number;
  stop: boolean;
}

export interface TraceEndpoint {
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T>;
}

export function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

/** Checks a breakpoint name: a trace event name or glob of letters, digits, `_`, `*`, `?`. */
export function checkPattern(name: string): string | undefined {
  return /^[A-Za-z0-9_*?]+$/.test(name) ? undefined : `'${name}' is not a trace event name or glob (letters, digits, _, * and ?)`;
}

async function eventStates(e: TraceEndpoint, pattern: string): Promise<Map<string, boolean>> {
  // The QMP client checked the reply's shape (TraceEventInfo list).
  const reply = await e.execute<QmpReplies['trace-event-get-state']>('trace-event-get-state', { name: pattern });
  return new Map(reply.map((r) => [r.name, r.state === 'enabled']));
}

/** The trace events of one QEMU the session enabled, and what they were before, so removal restores them. */
export class SideTraceControl {
  /** Event name → enabled before the session touched it. */
  private readonly before = new Map<string, boolean>();
  private readonly active = new Map<string, Set<string>>();

  constructor(private readonly e: TraceEndpoint) {}

  /** Enables every event the pattern matches; returns how many it matches (0: none in this QEMU). */
  async enable(pattern: string): Promise<number> {
    const states = await eventStates(this.e, pattern);
    if (states.size === 0) return 0;
    for (const [name, on] of states) if (!this.before.has(name)) this.before.set(name, on);
    await this.e.execute('trace-event-set-state', { name: pattern, enable: true });
    this.active.set(pattern, new Set(states.keys()));
    return states.size;
  }

  /** Disables what the pattern enabled, except events that were on before or that another pattern still wants. */
  async disable(pattern: string): Promise<void> {
    const names = this.active.get(pattern);
    if (!names) return;
    this.active.delete(pattern);
    const stillWanted = new Set([...this.active.values()].flatMap((s) => [...s]));
    const off = [...names].filter((n) => this.before.get(n) === false && !stillWanted.has(n));
    if (off.length === 0) return;
    if (off.length === names.size && ![...names].some((n) => stillWanted.has(n))) {
      await this.e.execute('trace-event-set-state', { name: pattern, enable: false });
    } else {
      for (const n of off) await this.e.execute('trace-event-set-state', { name: n, enable: false });
    }
    for (const n of off) this.before.delete(n);
  }

  patterns(): string[] {
    return [...this.active.keys()];
  }

  async disableAll(): Promise<void> {
    for (const p of this.patterns()) await this.disable(p);
  }
}

function valueText(v: unknown): string {
  return typeof v === 'string' ? (/^0x[0-9a-f]+$/.test(v) ? v : JSON.stringify(v)) : String(v);
}

/** Matching hits of one batch of new log lines, decoded. */
export function hitsInBatch(side: SideName, store: TraceStore, specs: readonly TraceBreakpointSpec[], readAtMs: number): TraceHit[] {
  const matchers = specs.map((s) => ({ s, re: globToRegExp(s.pattern) }));
  const byName = new Map<string, TraceBreakpointSpec[]>();
  const base = store.baseTimeNs;
  const out: TraceHit[] = [];
  for (const { table, row } of store.inOrder()) {
    let matched = byName.get(table.name);
    if (matched === undefined) {
      matched = matchers.filter((m) => m.re.test(table.name)).map((m) => m.s);
      byName.set(table.name, matched);
    }
    if (matched.length === 0) continue;
    const fields = table.unknown
      ? String(table.value(row, 0))
      : table.fields.map((f, k) => `${f.name}=${valueText(table.value(row, k))}`).join(' ');
    const t = table.time(row);
    const eventTimeMs = base !== null && Number.isFinite(t) ? Number(base / 1_000_000n) + Number(base % 1_000_000n) / 1e6 + t / 1e6 : undefined;
    out.push({
      side, breakpointIds: matched.map((m) => m.id), event: table.name, text: `${table.name} ${fields}`.trimEnd(),
      eventTimeMs, readAtMs, stop: matched.some((m) => m.stop),
    });
  }
  return out;
}

/** Follows a QEMU's `-D` log from `fromOffset` (its size when the breakpoints were set); reports hits until stopped. */
export class LogFollower {
  private readonly controller = new AbortController();
  private readonly done: Promise<void>;

  constructor(
    readonly side: SideName,
    readonly path: string,
    catalogue: Catalogue,
    specs: () => readonly TraceBreakpointSpec[],
    onHits: (hits: TraceHit[]) => void,
    onError: (message: string) => void,
    fromOffset: number,
    intervalMs = 50,
  ) {
    this.done = followTrace(path, catalogue, {
      signal: this.controller.signal,
      intervalMs,
      fromOffset,
      onBatch: (store) => {
        const active = specs();
        if (active.length === 0) return;
        const hits = hitsInBatch(side, store, active, Date.now());
        if (hits.length > 0) onHits(hits);
      },
      onError,
    }).catch((e: unknown) => onError(e instanceof Error ? e.message : String(e)));
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.done;
  }
}
