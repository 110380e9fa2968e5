import { openSync, readSync, closeSync } from 'node:fs';
import type { Catalogue } from '../trace/catalogue';
import { builtinCatalogue, latestBuiltinVersion } from '../trace/catalogues/index';
import { LogLineParser } from '../trace/logReader';
import { finishStore, readTrace } from '../trace/readTrace';
import { looksLikeSimpletrace } from '../trace/simpletrace';
import { TraceStore, type EventTable } from '../trace/store';
import type { ConnectionEvent, Flow, FlowMessage, MessageNames } from './flow';
import { connectionEventKind, FLAG_REPLY, POSTCOPY_EVENT } from './flow';

// QEMU traces, read only through the project's trace engine (src/core/trace): log files in every
// prefix form, gzip/xz-compressed logs and simpletrace binaries, and text already in memory (an
// editor buffer), all decoded with a trace-events catalogue into one store, then into a Flow.

/** True when the text holds QEMU's vhost-user trace events (the messages or the socket's events). */
export function looksLikeQemuTrace(text: string): boolean {
  const head = text.slice(0, 1 << 20);
  return /vhost_user_(write|read) req:\d+ flags:0x/.test(head) || /vhost_user_event chr: \S+ got event: \d+/.test(head);
}

const EVENT_TEXT = /chr: (\S+) got event: (\d+)/;

/**
 * `vhost_user_event` rows. A catalogue without the event (one built from a partial set of
 * trace-events files) still keeps prefixed lines as an unknown event with its text.
 */
function connectionEvents(t: EventTable | undefined): ConnectionEvent[] {
  if (!t) return [];
  const out: ConnectionEvent[] = [];
  const chr = t.hasField('chr') ? t.column('chr') : undefined;
  const ev = t.hasField('event') ? t.column('event') : undefined;
  const text = t.hasField('text') ? t.column('text') : undefined;
  for (let i = 0; i < t.count; i++) {
    let chardev: string | undefined;
    let event: number | undefined;
    if (chr && ev) {
      chardev = String(chr.get(i));
      event = ev.number(i);
    } else if (text) {
      const m = EVENT_TEXT.exec(String(text.get(i)));
      if (m?.[1] && m[2]) { chardev = m[1]; event = Number(m[2]); }
    }
    if (chardev === undefined || event === undefined) continue;
    out.push({ line: t.line(i), chardev, event, kind: connectionEventKind(event) });
  }
  return out;
}

/** The vhost_user_write/read events of a store, in trace order, as one connection's flow. */
export function flowFromTraceStore(store: TraceStore, names: MessageNames): Flow {
  const messages: FlowMessage[] = [];
  const w = store.table('vhost_user_write');
  const r = store.table('vhost_user_read');
  const wReq = w?.column('req');
  const wFlags = w?.column('flags');
  const rReq = r?.column('req');
  const rFlags = r?.column('flags');
  let i = 0;
  let j = 0;
  const wn = w?.count ?? 0;
  const rn = r?.count ?? 0;
  while (i < wn || j < rn) {
    const takeWrite = j >= rn || (i < wn && (w?.line(i) ?? 0) <= (r?.line(j) ?? 0));
    const table = takeWrite ? w : r;
    const row = takeWrite ? i++ : j++;
    const id = (takeWrite ? wReq : rReq)?.number(row) ?? -1;
    const flags = (takeWrite ? wFlags : rFlags)?.number(row) ?? 0;
    // QEMU writes front-end requests and reads the back-end's replies on the main channel.
    messages.push({ line: table?.line(row) ?? 0, id, name: names.name(id, 'front-end'), type: 'front-end', isReply: !takeWrite || (flags & FLAG_REPLY) !== 0, flags, size: undefined, u64: undefined, fds: undefined });
  }
  const events: Record<string, { count: number; firstLine: number }> = {};
  for (const name of store.names()) {
    const t = store.table(name);
    if (t && t.count > 0 && POSTCOPY_EVENT.test(name)) events[name] = { count: t.count, firstLine: t.line(0) };
  }
  const conn = connectionEvents(store.table('vhost_user_event'));
  const chardevs = [...new Set(conn.map((c) => c.chardev))];
  return {
    format: 'qemu-trace', connection: chardevs[0] === undefined ? undefined : `chardev ${chardevs[0]}`, visibility: { flags: true, payloads: false, fds: false, replies: true },
    messages, otherConnections: chardevs.slice(1).map((c) => `chardev ${c}`), events, connectionEvents: conn,
  };
}

function defaultCatalogue(opts: { catalogue?: Catalogue | undefined; qemuVersion?: string | undefined }): Catalogue {
  return opts.catalogue ?? builtinCatalogue(opts.qemuVersion ?? latestBuiltinVersion());
}

/** A QEMU trace already in memory (an editor buffer), read by the trace engine's line parser. */
export function readQemuTraceText(text: string, names: MessageNames, opts: { catalogue?: Catalogue; qemuVersion?: string } = {}): Flow {
  const store = new TraceStore();
  const parser = new LogLineParser(store, defaultCatalogue(opts));
  parser.push(Buffer.from(text, 'utf8'));
  parser.end();
  return flowFromTraceStore(finishStore(store), names);
}

/** True when the file is something only the trace engine reads: compressed or simpletrace. */
export function needsTraceEngine(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(16);
    const n = readSync(fd, head, 0, 16, 0);
    const b = head.subarray(0, n);
    const gzip = b[0] === 0x1f && b[1] === 0x8b;
    const xz = b[0] === 0xfd && b.subarray(1, 6).toString('latin1') === '7zXZ\u0000';
    return gzip || xz || looksLikeSimpletrace(b);
  } finally {
    closeSync(fd);
  }
}

/** Reads a QEMU trace file with the trace engine; `catalogue` defaults to the newest built-in one. */
export async function readQemuTraceFlow(path: string, names: MessageNames, opts: { catalogue?: Catalogue; qemuVersion?: string | undefined; signal?: AbortSignal | undefined } = {}): Promise<Flow> {
  const store = await readTrace(path, defaultCatalogue(opts), { signal: opts.signal });
  if (store.errors.length) throw new Error(`${path}: ${store.errors.join('; ')}`);
  return flowFromTraceStore(store, names);
}
