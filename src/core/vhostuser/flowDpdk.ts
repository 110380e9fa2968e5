import type { Flow, FlowMessage, MessageNames } from './flow';

// DPDK lib/vhost logs (`VHOST_CONFIG: (<socket>) read message VHOST_USER_...`) and libvhost-user
// style debug output (`Request: VHOST_USER_... (N)`, `Flags: 0x..`, `Size: ..`, `u64: 0x..`).

const DPDK_READ = /VHOST_CONFIG: \(([^)]*)\) read message (VHOST_USER_\w+)/;
const DPDK_REPLY = /VHOST_CONFIG: \(([^)]*)\) processing (VHOST_USER_\w+) succeeded and needs reply/;
const DPDK_PROTO = /VHOST_CONFIG: \(([^)]*)\) negotiated Vhost-user protocol features: 0x([0-9a-fA-F]+)/;
const DPDK_VIRTIO = /VHOST_CONFIG: \(([^)]*)\) negotiated Virtio features: 0x([0-9a-fA-F]+)/;

export function looksLikeDpdkLog(text: string): boolean {
  return /VHOST_CONFIG: \([^)]*\) read message VHOST_USER_/.test(text.slice(0, 1 << 20));
}

export function looksLikeLibvhostUserLog(text: string): boolean {
  return /^Request: VHOST_USER_\w+ \(\d+\)/m.test(text.slice(0, 1 << 20));
}

/** Parses one connection (the first socket seen, or `connection`) of a DPDK vhost log. */
export function parseDpdkLog(text: string, names: MessageNames, connection?: string): Flow {
  const messages: FlowMessage[] = [];
  const sockets: string[] = [];
  const lines = text.split('\n');
  let chosen = connection;
  const replace = (idx: number, u64: bigint): void => {
    const m = messages[idx];
    if (m) messages[idx] = { ...m, u64 };
  };
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] ?? '';
    if (!l.includes('VHOST_CONFIG')) continue;
    const read = DPDK_READ.exec(l);
    const reply = read ? null : DPDK_REPLY.exec(l);
    const r = read ?? reply;
    const sock = r?.[1] ?? DPDK_PROTO.exec(l)?.[1] ?? DPDK_VIRTIO.exec(l)?.[1];
    if (sock !== undefined && !sockets.includes(sock)) sockets.push(sock);
    if (sock === undefined) continue;
    chosen ??= sock;
    if (sock !== chosen) continue;
    if (r?.[2]) {
      const def = names.lookup(r[2]);
      const isReply = reply !== null;
      messages.push({ line: i + 1, id: def?.id ?? -1, name: def?.name ?? r[2], type: def?.type ?? 'front-end', isReply, flags: undefined, size: undefined, u64: undefined, fds: undefined });
      continue;
    }
    const p = DPDK_PROTO.exec(l) ?? DPDK_VIRTIO.exec(l);
    if (p?.[2]) {
      const want = DPDK_PROTO.test(l) ? 'VHOST_USER_SET_PROTOCOL_FEATURES' : 'VHOST_USER_SET_FEATURES';
      for (let k = messages.length - 1; k >= 0; k--) {
        const m = messages[k];
        if (m && !m.isReply && m.name === want) { replace(k, BigInt('0x' + p[2])); break; }
      }
    }
  }
  return {
    format: 'dpdk-log', connection: chosen,
    visibility: { flags: false, payloads: false, fds: false, replies: true },
    messages, otherConnections: sockets.filter((s) => s !== chosen),
  };
}

const LVU_REQ = /^Request: (VHOST_USER_\w+) \((\d+)\)/;
const LVU_FLAGS = /^Flags:\s+0x([0-9a-fA-F]+)/;
const LVU_SIZE = /^Size:\s+(\d+)/;
const LVU_U64 = /u64:\s+0x([0-9a-fA-F]+)/;

/** libvhost-user / vhost-user-bridge DPRINT output: a header block per request, u64 payloads. */
export function parseLibvhostUserLog(text: string, names: MessageNames): Flow {
  const messages: FlowMessage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = (lines[i] ?? '').trim();
    const r = LVU_REQ.exec(l);
    if (r?.[1] && r[2]) {
      const def = names.lookup(r[1]);
      messages.push({ line: i + 1, id: Number(r[2]), name: def?.name ?? r[1], type: def?.type ?? 'front-end', isReply: false, flags: undefined, size: undefined, u64: undefined, fds: undefined });
      continue;
    }
    const last = messages[messages.length - 1];
    if (!last) continue;
    const f = LVU_FLAGS.exec(l);
    if (f?.[1]) { messages[messages.length - 1] = { ...last, flags: parseInt(f[1], 16) }; continue; }
    const s = LVU_SIZE.exec(l);
    if (s?.[1]) { messages[messages.length - 1] = { ...last, size: Number(s[1]) }; continue; }
    const u = LVU_U64.exec(l);
    if (u?.[1]) {
      const v = BigInt('0x' + u[1]);
      // "Sending back to guest u64" is the reply of a GET; otherwise the request's own payload.
      if (/sending back|reply/i.test(l)) {
        messages.push({ ...last, line: i + 1, isReply: true, flags: undefined, size: 8, u64: v });
      } else {
        messages[messages.length - 1] = { ...last, u64: v };
      }
    }
  }
  return { format: 'libvhost-user-log', connection: undefined, visibility: { flags: true, payloads: true, fds: false, replies: false }, messages, otherConnections: [] };
}
