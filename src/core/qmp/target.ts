/** Where a QMP monitor listens. */
export type QmpTarget = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** QEMU chardev options people copy along with the address from a `-qmp` argument. */
const chardevOption = /,(server|wait|nowait|nodelay|telnet|reconnect|server=\w+|wait=\w+|nodelay=\w+|telnet=\w+|reconnect=\d+|abstract=\w+|tight=\w+)(?=,|$)/g;

function stripChardevOptions(s: string): string {
  return s.replace(chardevOption, '');
}

function parsePort(text: string, whole: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new Error(`invalid QMP address '${whole}': port '${text}' is not a number`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw new Error(`invalid QMP address '${whole}': port ${port} is out of range 1-65535`);
  return port;
}

function parseHostPort(rest: string, whole: string): QmpTarget {
  const bracketed = /^\[([^\]]+)\]:([^:]*)$/.exec(rest);
  if (bracketed) return { kind: 'tcp', host: bracketed[1] ?? '', port: parsePort(bracketed[2] ?? '', whole) };
  const i = rest.lastIndexOf(':');
  if (i <= 0) throw new Error(`invalid QMP address '${whole}': expected HOST:PORT`);
  const host = rest.slice(0, i);
  if (host.includes(':')) throw new Error(`invalid QMP address '${whole}': write IPv6 hosts in brackets, e.g. tcp:[::1]:4444`);
  return { kind: 'tcp', host, port: parsePort(rest.slice(i + 1), whole) };
}

/**
 * Parses a QMP address: `/path/sock`, `./sock`, `sock`, `unix:/path` (QEMU chardev options such as
 * `,server=on,wait=off` are ignored), `tcp:host:port`, `host:port`, `[::1]:port`.
 * A bare `name:digits` without a slash is TCP; write `./name:1` for such a file.
 */
export function parseQmpTarget(s: string): QmpTarget {
  const text = s.trim();
  if (text === '') throw new Error('empty QMP address: give a unix socket path or tcp:HOST:PORT');
  if (text.startsWith('unix:')) {
    const path = stripChardevOptions(text.slice('unix:'.length));
    if (path === '') throw new Error(`invalid QMP address '${s}': unix: needs a path`);
    return { kind: 'unix', path };
  }
  if (text.startsWith('tcp:')) return parseHostPort(stripChardevOptions(text.slice('tcp:'.length)), s);
  if (!text.includes('/') && /^(\[[^\]]+\]|[^:]+):\d+$/.test(text)) return parseHostPort(text, s);
  return { kind: 'unix', path: text };
}

/** `unix:/path` or `tcp:host:port`, for messages. */
export function formatQmpTarget(t: QmpTarget): string {
  if (t.kind === 'unix') return `unix:${t.path}`;
  return t.host.includes(':') ? `tcp:[${t.host}]:${t.port}` : `tcp:${t.host}:${t.port}`;
}

/** `QMP socket /path` or `QMP at tcp:host:port`, for messages. */
export function describeTarget(t: QmpTarget): string {
  return t.kind === 'unix' ? `QMP socket ${t.path}` : `QMP at ${formatQmpTarget(t)}`;
}
