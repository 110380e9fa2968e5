import type { Direction } from './model';
import type { Flow, FlowMessage, MessageNames } from './flow';
import { FLAG_REPLY } from './flow';

// Decoder of `strace -f -xx -s 65536 -e trace=sendmsg,recvmsg,read,write` output: rebuilds the
// byte stream of each socket direction and cuts it into vhost-user messages (12-byte header:
// request u32, flags u32, size u32, then `size` payload bytes), fds from SCM_RIGHTS.

interface Call { readonly line: number; readonly name: string; readonly fd: number; readonly body: string; readonly ret: number }

const CALL = /^(?:\[pid\s+)?(\d+)?\]?\s*(sendmsg|recvmsg|read|write)\((\d+),\s*(.*)\)\s*=\s*(-?\d+)/;
const UNFINISHED = /^(?:\[pid\s+)?(\d+)?\]?\s*(sendmsg|recvmsg|read|write)\((\d+),\s*(.*?)\s*<unfinished \.\.\.>\s*$/;
const RESUMED = /^(?:\[pid\s+)?(\d+)?\]?\s*<\.\.\. (sendmsg|recvmsg|read|write) resumed>\s*(.*)\)\s*=\s*(-?\d+)/;

function calls(text: string): Call[] {
  const out: Call[] = [];
  const pending = new Map<string, { line: number; name: string; fd: number; head: string }>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] ?? '';
    const c = CALL.exec(l);
    if (c?.[2] && c[3] && c[5]) { out.push({ line: i + 1, name: c[2], fd: Number(c[3]), body: c[4] ?? '', ret: Number(c[5]) }); continue; }
    const u = UNFINISHED.exec(l);
    if (u?.[2] && u[3]) { pending.set(`${u[1] ?? ''}:${u[2]}`, { line: i + 1, name: u[2], fd: Number(u[3]), head: u[4] ?? '' }); continue; }
    const r = RESUMED.exec(l);
    if (r?.[2] && r[4]) {
      const key = `${r[1] ?? ''}:${r[2]}`;
      const p = pending.get(key);
      if (!p) continue;
      pending.delete(key);
      out.push({ line: p.line, name: p.name, fd: p.fd, body: p.head + (r[3] ?? ''), ret: Number(r[4]) });
    }
  }
  return out;
}

/** The bytes a call moved: iov_base strings of sendmsg/recvmsg, the buffer of read/write (first `ret` bytes). */
function bytesOf(c: Call): Uint8Array {
  const strings = c.name.endsWith('msg') ? [...c.body.matchAll(/iov_base="((?:\\x[0-9a-f]{2})*)"/g)].map((m) => m[1] ?? '') : [/^"((?:\\x[0-9a-f]{2})*)"/.exec(c.body)?.[1] ?? ''];
  const hex = strings.join('');
  const n = Math.min(hex.length / 4, Math.max(0, c.ret));
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = parseInt(hex.slice(i * 4 + 2, i * 4 + 4), 16);
  return out;
}

function fdsOf(c: Call): number {
  let n = 0;
  for (const m of c.body.matchAll(/SCM_RIGHTS, cmsg_data=\[([^\]]*)\]/g)) n += (m[1] ?? '').split(',').filter((x) => x.trim()).length;
  return n;
}

interface Stream { buf: number[]; startLine: number; fds: number }

export function looksLikeStrace(text: string): boolean {
  return /(sendmsg|recvmsg)\(\d+, \{msg_name=/.test(text.slice(0, 1 << 20));
}

/**
 * Decodes one socket (the first fd whose traffic starts with a valid vhost-user header, or `fd`).
 * `type` says whose requests travel on it: the main socket carries front-end requests, the
 * back-end request channel (SET_BACKEND_REQ_FD) carries back-end ones.
 */
export function parseStrace(text: string, names: MessageNames, opts: { fd?: number; type?: Direction } = {}): Flow {
  const all = calls(text).filter((c) => c.ret > 0);
  const socketFds = [...new Set(all.filter((c) => c.name.endsWith('msg')).map((c) => c.fd))];
  let chosen = opts.fd;
  if (chosen === undefined) {
    for (const fd of socketFds) {
      const first = all.find((c) => c.fd === fd);
      const b = first ? bytesOf(first) : new Uint8Array();
      if (b.length >= 12 && validHeader(b)) { chosen = fd; break; }
    }
  }
  const type: Direction = opts.type ?? 'front-end';
  const messages: FlowMessage[] = [];
  const streams: Record<'in' | 'out', Stream> = { in: { buf: [], startLine: 0, fds: 0 }, out: { buf: [], startLine: 0, fds: 0 } };
  for (const c of all) {
    if (c.fd !== chosen) continue;
    const dir = c.name === 'recvmsg' || c.name === 'read' ? 'in' : 'out';
    const s = streams[dir];
    if (s.buf.length === 0) { s.startLine = c.line; s.fds = 0; }
    for (const b of bytesOf(c)) s.buf.push(b);
    s.fds += fdsOf(c);
    // Cut every complete message out of the stream.
    for (;;) {
      if (s.buf.length < 12) break;
      const h = Uint8Array.from(s.buf.slice(0, 12));
      const dv = new DataView(h.buffer);
      const id = dv.getUint32(0, true);
      const flags = dv.getUint32(4, true);
      const size = dv.getUint32(8, true);
      if (s.buf.length < 12 + size) break;
      const payload = Uint8Array.from(s.buf.slice(12, 12 + size));
      const u64 = size >= 8 ? new DataView(payload.buffer).getBigUint64(0, true) : undefined;
      const isReply = (flags & FLAG_REPLY) !== 0;
      messages.push({ line: s.startLine, id, name: names.name(id, type), type, isReply, flags, size, u64, fds: s.fds });
      s.buf = s.buf.slice(12 + size);
      s.startLine = c.line;
      s.fds = 0;
    }
  }
  return {
    format: 'strace', connection: chosen === undefined ? undefined : `fd ${chosen}`,
    visibility: { flags: true, payloads: true, fds: true, replies: true },
    messages, otherConnections: socketFds.filter((f) => f !== chosen).map((f) => `fd ${f}`),
  };
}

function validHeader(b: Uint8Array): boolean {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const flags = dv.getUint32(4, true);
  const size = dv.getUint32(8, true);
  return (flags & 0x3) === 1 && (flags & ~0xf) === 0 && size <= 0x10000 && dv.getUint32(0, true) < 256;
}
