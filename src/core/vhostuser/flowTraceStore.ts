import { openSync, readSync, closeSync } from 'node:fs';
import type { Catalogue } from '../trace/catalogue';
import { builtinCatalogue, latestBuiltinVersion } from '../trace/catalogues/index';
import { readTrace } from '../trace/readTrace';
import { looksLikeSimpletrace } from '../trace/simpletrace';
import type { TraceStore } from '../trace/store';
import type { Flow, FlowMessage, MessageNames } from './flow';
import { FLAG_REPLY, POSTCOPY_EVENT } from './flow';

// QEMU traces through the project's trace engine (src/core/trace): log files in every prefix form,
// gzip/xz-compressed logs and simpletrace binaries, decoded with a trace-events catalogue.
// flowQemu.ts is the in-memory text adapter (editor buffers, tests); both build the same Flow.

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
    messages.push({ line: table?.line(row) ?? 0, id, name: names.name(id, 'front-end'), type: 'front-end', isReply: !takeWrite || (flags & FLAG_REPLY) !== 0, flags, size: undefined, u64: undefined, fds: undefined });
  }
  const events: Record<string, { count: number; firstLine: number }> = {};
  for (const name of store.names()) {
    const t = store.table(name);
    if (t && t.count > 0 && POSTCOPY_EVENT.test(name)) events[name] = { count: t.count, firstLine: t.line(0) };
  }
  return { format: 'qemu-trace', connection: undefined, visibility: { flags: true, payloads: false, fds: false, replies: true }, messages, otherConnections: [], events };
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
export async function readQemuTraceFlow(path: string, names: MessageNames, opts: { catalogue?: Catalogue; qemuVersion?: string; signal?: AbortSignal } = {}): Promise<Flow> {
  const catalogue = opts.catalogue ?? builtinCatalogue(opts.qemuVersion ?? latestBuiltinVersion());
  const store = await readTrace(path, catalogue, { signal: opts.signal });
  if (store.errors.length) throw new Error(`${path}: ${store.errors.join('; ')}`);
  return flowFromTraceStore(store, names);
}
