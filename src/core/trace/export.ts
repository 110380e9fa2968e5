/**
 * Exports a store as JSON Lines, CSV or Chrome trace-event JSON (for
 * chrome://tracing and Perfetto), written in pieces through a sink.
 */
import type { EventTable, FieldValue, TraceStore } from './store';

export type ExportFormat = 'jsonl' | 'csv' | 'chrome';

export const exportFormats: readonly ExportFormat[] = ['jsonl', 'csv', 'chrome'];

type Sink = (text: string) => void | Promise<void>;

function jsonValue(v: FieldValue): string {
  return typeof v === 'bigint' ? `"${v.toString()}"` : JSON.stringify(v);
}

function argsJson(t: EventTable, row: number): string {
  return '{' + t.fields.map((f, k) => `${JSON.stringify(f.name)}:${jsonValue(t.value(row, k))}`).join(',') + '}';
}

function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Batches small writes into pieces of about 1 MiB. */
async function buffered(sink: Sink, body: (write: (s: string) => Promise<void>) => Promise<void>): Promise<void> {
  let buf: string[] = [];
  let size = 0;
  const write = async (s: string): Promise<void> => {
    buf.push(s);
    size += s.length;
    if (size >= 1 << 20) { const out = buf.join(''); buf = []; size = 0; await sink(out); }
  };
  await body(write);
  if (buf.length) await sink(buf.join(''));
}

/** The multifd channel of an event (its `id`/`channel` field), if it has one. */
function channelOf(t: EventTable, row: number): number | undefined {
  if (!t.name.startsWith('multifd_')) return undefined;
  const k = t.fieldIndex('id') >= 0 ? t.fieldIndex('id') : t.fieldIndex('channel');
  if (k < 0) return undefined;
  const v = t.value(row, k);
  return typeof v === 'number' ? v : undefined;
}

export async function exportStore(store: TraceStore, format: ExportFormat, sink: Sink): Promise<void> {
  const pos = store.positionKind === 'line' ? 'line' : 'offset';
  await buffered(sink, async (write) => {
    if (format === 'csv') await write(`${pos},time_ns,tid,event,args\n`);
    if (format === 'chrome') await write('{"displayTimeUnit":"ns","traceEvents":[\n');
    const tracks = new Map<string, number>();
    let first = true;
    for (const { table: t, row } of store.inOrder()) {
      const ns = t.time(row);
      const tid = t.threadId(row);
      if (format === 'jsonl') {
        await write(`{"name":${JSON.stringify(t.name)},"${pos}":${t.line(row)},"ns":${Number.isNaN(ns) ? 'null' : ns},"tid":${tid ?? 'null'},"args":${argsJson(t, row)}}\n`);
      } else if (format === 'csv') {
        const args = t.fields.map((f, k) => `${f.name}=${String(t.value(row, k))}`).join(' ');
        await write(`${t.line(row)},${Number.isNaN(ns) ? '' : ns},${tid ?? ''},${t.name},${csvCell(args)}\n`);
      } else {
        const ch = channelOf(t, row);
        const trackName = ch !== undefined ? `multifd channel ${ch}` : tid !== undefined ? `thread ${tid}` : 'events';
        let track = tracks.get(trackName);
        if (track === undefined) {
          track = tracks.size + 1;
          tracks.set(trackName, track);
          await write(`${first ? '' : ',\n'}{"ph":"M","name":"thread_name","pid":1,"tid":${track},"args":{"name":${JSON.stringify(trackName)}}}`);
          first = false;
        }
        const us = Number.isNaN(ns) ? t.line(row) : ns / 1000;
        await write(`${first ? '' : ',\n'}{"ph":"i","s":"t","name":${JSON.stringify(t.name)},"pid":1,"tid":${track},"ts":${us},"args":${argsJson(t, row).replace(/^\{/, `{"${pos}":${t.line(row)}${t.fields.length ? ',' : ''}`)}}`);
        first = false;
      }
    }
    if (format === 'chrome') await write('\n]}\n');
  });
}
