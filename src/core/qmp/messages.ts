import { QmpProtocolError } from './errors';

export interface QmpGreeting {
  version: { qemu: { major: number; minor: number; micro: number }; package: string };
  capabilities: string[];
}

export interface QmpEvent {
  event: string;
  data: Record<string, unknown>;
  /** The time QEMU emitted the event (host wall clock). */
  timestamp: { seconds: number; microseconds: number };
}

export interface QmpTranscriptEntry {
  /** Date.now() when the message was sent or received. */
  time: number;
  direction: 'out' | 'in';
  kind: 'greeting' | 'command' | 'reply' | 'error' | 'event';
  message: unknown;
}

/** One message from the server, classified. `id` is absent when the peer sent none. */
export type QmpIncoming =
  | { kind: 'greeting'; greeting: QmpGreeting }
  | { kind: 'return'; hasId: boolean; id: unknown; value: unknown }
  | { kind: 'error'; hasId: boolean; id: unknown; errorClass: string; description: string }
  | { kind: 'event'; event: QmpEvent };

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Shortened text of a line for error messages. */
export function preview(text: string, max = 120): string {
  const oneLine = JSON.stringify(text.length > max ? text.slice(0, max) : text);
  return text.length > max ? `${oneLine}... (${text.length} characters)` : oneLine;
}

/** Parses one line into a JSON object; anything else is a protocol error that names the line. */
export function parseMessage(line: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new QmpProtocolError(`QMP peer sent a line that is not JSON (${why}): ${preview(line)}`);
  }
  if (!isObject(value)) {
    const what = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
    throw new QmpProtocolError(`QMP peer sent JSON that is not an object (${what}): ${preview(line)}`);
  }
  return value;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

function parseGreeting(msg: JsonObject): QmpGreeting {
  const qmp = msg['QMP'];
  const bad = (why: string): QmpProtocolError =>
    new QmpProtocolError(`bad QMP greeting (${why}): ${preview(JSON.stringify(msg))}`);
  if (!isObject(qmp)) throw bad('"QMP" is not an object');
  const version = qmp['version'];
  if (!isObject(version)) throw bad('no "version" object');
  const qemu = version['qemu'];
  if (!isObject(qemu) || !isCount(qemu['major']) || !isCount(qemu['minor']) || !isCount(qemu['micro'])) {
    throw bad('"version.qemu" lacks major/minor/micro numbers');
  }
  const pkg = version['package'];
  const caps = qmp['capabilities'];
  if (!Array.isArray(caps) || !caps.every((c): c is string => typeof c === 'string')) {
    throw bad('"capabilities" is not a list of strings');
  }
  return {
    version: {
      qemu: { major: qemu['major'], minor: qemu['minor'], micro: qemu['micro'] },
      package: typeof pkg === 'string' ? pkg : '',
    },
    capabilities: [...caps],
  };
}

function parseTimestamp(v: unknown): QmpEvent['timestamp'] {
  if (isObject(v) && Number.isFinite(v['seconds']) && Number.isFinite(v['microseconds'])) {
    return { seconds: v['seconds'] as number, microseconds: v['microseconds'] as number };
  }
  // QEMU always stamps events; for a peer that does not, the receive time is the best substitute.
  const now = Date.now();
  return { seconds: Math.floor(now / 1000), microseconds: (now % 1000) * 1000 };
}

/** Classifies a server message; unknown shapes are protocol errors. */
export function classify(msg: JsonObject): QmpIncoming {
  if ('QMP' in msg) return { kind: 'greeting', greeting: parseGreeting(msg) };
  const hasId = 'id' in msg;
  if ('return' in msg) return { kind: 'return', hasId, id: msg['id'], value: msg['return'] };
  if ('error' in msg) {
    const err = msg['error'];
    const errorClass = isObject(err) && typeof err['class'] === 'string' ? err['class'] : 'GenericError';
    const description = isObject(err) && typeof err['desc'] === 'string' ? err['desc'] : JSON.stringify(err);
    return { kind: 'error', hasId, id: msg['id'], errorClass, description };
  }
  if (typeof msg['event'] === 'string') {
    const data = msg['data'];
    return {
      kind: 'event',
      event: { event: msg['event'], data: isObject(data) ? data : {}, timestamp: parseTimestamp(msg['timestamp']) },
    };
  }
  throw new QmpProtocolError(`QMP peer sent a message that is neither a reply nor an event: ${preview(JSON.stringify(msg))}`);
}
