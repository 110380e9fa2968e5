import type { Flow, FlowMessage, MessageNames } from './flow';
import { FLAG_REPLY, POSTCOPY_EVENT } from './flow';

// Adapter for QEMU's log-backend trace lines. It reads only the vhost_user_write / vhost_user_read
// events (request id and header flags) in any prefix form (`tid@sec.usec:`, ISO time, none).
// Kept in one file so it can be swapped for src/core/trace's reader once that exposes one.

export function looksLikeQemuTrace(text: string): boolean {
  return /vhost_user_(write|read) req:\d+ flags:0x/.test(text.slice(0, 1 << 20));
}

const WRITE = 'vhost_user_write req:';
const READ = 'vhost_user_read req:';

/** Decimal digits at `i` (-1 when none); `end` receives the index after them. */
function digits(text: string, i: number, base: 10 | 16, end: { at: number }): number {
  let v = 0;
  let j = i;
  for (; j < text.length; j++) {
    const c = text.charCodeAt(j);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (base === 16 && c >= 97 && c <= 102) d = c - 87;
    else if (base === 16 && c >= 65 && c <= 70) d = c - 55;
    else break;
    v = v * base + d;
  }
  end.at = j;
  return j === i ? -1 : v;
}

export function parseQemuTrace(text: string, names: MessageNames): Flow {
  const messages: FlowMessage[] = [];
  const events: Record<string, { count: number; firstLine: number }> = {};
  const end = { at: 0 };
  let line = 0;
  let pos = 0;
  let at = text.indexOf('vhost_user_');
  while (at >= 0) {
    // Count the lines up to the event, then parse it in place (a million events take ~0.3 s).
    let nl = text.indexOf('\n', pos);
    while (nl >= 0 && nl < at) { line++; pos = nl + 1; nl = text.indexOf('\n', pos); }
    const isWrite = text.startsWith(WRITE, at);
    if (isWrite || text.startsWith(READ, at)) {
      const id = digits(text, at + (isWrite ? WRITE.length : READ.length), 10, end);
      const flags = id >= 0 && text.startsWith(' flags:0x', end.at) ? digits(text, end.at + 9, 16, end) : -1;
      if (flags >= 0) {
        // QEMU writes front-end requests and reads the back-end's replies on the main channel.
        messages.push({ line: line + 1, id, name: names.name(id, 'front-end'), type: 'front-end', isReply: !isWrite || (flags & FLAG_REPLY) !== 0, flags, size: undefined, u64: undefined, fds: undefined });
      }
    } else if (text.startsWith('vhost_user_postcopy_', at) || text.startsWith('vhost_user_set_mem_table_postcopy', at)) {
      let e = at;
      while (e < text.length && text.charCodeAt(e) > 32) e++;
      const name = text.slice(at, e);
      if (POSTCOPY_EVENT.test(name)) {
        const ev = events[name];
        if (ev) ev.count++;
        else events[name] = { count: 1, firstLine: line + 1 };
      }
    }
    at = text.indexOf('vhost_user_', nl < 0 ? text.length : nl + 1);
  }
  return { format: 'qemu-trace', connection: undefined, visibility: { flags: true, payloads: false, fds: false, replies: true }, messages, otherConnections: [], events };
}
