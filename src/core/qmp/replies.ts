/**
 * The shapes of the QMP replies the workbench reads, checked where they arrive (QmpClient
 * applies the decoder of a command to its reply before handing it out). A reply of the wrong
 * shape rejects that command with a QmpReplyError naming the command and what was wrong, so
 * no caller meets a `TypeError` or waits on a status that never comes. Members the workbench
 * does not read, and members newer QEMUs add, pass through unchecked.
 */
import { QmpProtocolError } from './errors';
import { isObject, type JsonObject } from './messages';
import type { SchemaInfo } from './schema';

/** `MigrationStatus`; open-ended because newer QEMUs add states. */
export type MigrationStatus =
  | 'none'
  | 'setup'
  | 'cancelling'
  | 'cancelled'
  | 'active'
  | 'postcopy-active'
  | 'postcopy-paused'
  | 'postcopy-recover-setup'
  | 'postcopy-recover'
  | 'completed'
  | 'failed'
  | 'colo'
  | 'pre-switchover'
  | 'device'
  | 'wait-unplug'
  | (string & {});

/** `MigrationStats` (RAM). Members appear depending on QEMU version and migration state. */
export interface MigrationRamStats {
  transferred: number;
  remaining: number;
  total: number;
  duplicate: number;
  /** Removed in QEMU 9.1. */
  skipped?: number;
  normal: number;
  'normal-bytes': number;
  'dirty-pages-rate': number;
  mbps: number;
  'dirty-sync-count': number;
  'postcopy-requests': number;
  'page-size': number;
  'multifd-bytes'?: number;
  'pages-per-second'?: number;
  'precopy-bytes'?: number;
  'downtime-bytes'?: number;
  'postcopy-bytes'?: number;
  'dirty-sync-missed-zero-copy'?: number;
  [member: string]: number | undefined;
}

/** `query-migrate` reply. */
export interface MigrationInfo {
  status?: MigrationStatus;
  ram?: MigrationRamStats;
  disk?: MigrationRamStats;
  vfio?: { transferred: number };
  'xbzrle-cache'?: {
    'cache-size': number;
    bytes: number;
    pages: number;
    'cache-miss': number;
    'cache-miss-rate': number;
    'encoding-rate'?: number;
    overflow: number;
  };
  compression?: Record<string, number>;
  'total-time'?: number;
  'expected-downtime'?: number;
  downtime?: number;
  'setup-time'?: number;
  'cpu-throttle-percentage'?: number;
  'error-desc'?: string;
  'blocked-reasons'?: string[];
  'postcopy-blocktime'?: number;
  'postcopy-vcpu-blocktime'?: number[];
  'postcopy-latency'?: number;
  'postcopy-latency-dist'?: number[];
  'postcopy-vcpu-latency'?: number[];
  'postcopy-non-vcpu-latency'?: number;
  'socket-address'?: Array<Record<string, unknown>>;
  'dirty-limit-throttle-time-per-round'?: number;
  'dirty-limit-ring-full-time'?: number;
  [member: string]: unknown;
}

/** `query-status` reply. */
export interface VmStatus {
  running: boolean;
  /** `RunState`: running, paused, inmigrate, postmigrate, prelaunch, finish-migrate, ... */
  status: string;
  singlestep?: boolean;
}

/** The reply type of every command whose reply is checked. */
export interface QmpReplies {
  'query-migrate': MigrationInfo;
  'query-migrate-capabilities': Array<{ capability: string; state: boolean }>;
  'query-migrate-parameters': Record<string, unknown>;
  'query-status': VmStatus;
  'query-jobs': Array<{ id: string; type: string; status: string; 'current-progress': number; 'total-progress': number; error?: string }>;
  'query-qmp-schema': SchemaInfo[];
  'query-kvm': { enabled: boolean; present: boolean };
  'query-cpus-fast': Array<{ 'cpu-index': number; 'qom-path': string; 'thread-id': number; target?: string }>;
  'query-migrationthreads': Array<{ name: string; 'thread-id': number }>;
  'query-memdev': Array<{ id?: string; share: boolean; size?: number }>;
  'query-block': Array<{ device: string; inserted?: { 'node-name'?: string; ro?: boolean; drv?: string } }>;
  'human-monitor-command': string;
  'qom-list': Array<{ name: string; type: string; description?: string }>;
  'trace-event-get-state': Array<{ name: string; state: string; vcpu?: boolean }>;
  'x-query-virtio': Array<{ path: string; name: string }>;
  /** VirtioStatus: the device's name and many fields the views show as they are. */
  'x-query-virtio-status': { name: string; 'vhost-started'?: boolean; [field: string]: unknown };
}

/** A reply whose shape is not the one its command returns. */
export class QmpReplyError extends QmpProtocolError {
  override readonly name: string = 'QmpReplyError';
  constructor(readonly command: string, readonly problem: string) {
    super(`QMP command '${command}' returned a reply of the wrong shape: ${problem}`);
  }
}

/** Thrown by the checks below; QmpClient turns it into a QmpReplyError. */
class Wrong extends Error {}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  const text = JSON.stringify(v);
  return `${typeof v === 'string' ? 'a string' : `a ${typeof v}`} (${text.length > 40 ? `${text.slice(0, 40)}...` : text})`;
}

function fail(path: string, got: unknown, expected: string): never {
  throw new Wrong(`${path === '' ? 'the reply' : path} is ${describe(got)}, expected ${expected}`);
}

type Kind = 'number' | 'string' | 'boolean';

function scalar(v: unknown, path: string, kind: Kind): void {
  if (typeof v !== kind || (kind === 'number' && !Number.isFinite(v))) fail(path, v, `a ${kind}`);
}

function object(v: unknown, path: string, what: string): JsonObject {
  if (!isObject(v)) fail(path, v, what);
  return v;
}

function list(v: unknown, path: string, what: string): unknown[] {
  if (!Array.isArray(v)) fail(path, v, what);
  return v;
}

/** Required and optional members of a fixed kind. */
function members(o: JsonObject, path: string, required: Record<string, Kind>, optional: Record<string, Kind> = {}): void {
  const at = (k: string): string => (path === '' ? k : `${path}.${k}`);
  for (const [k, kind] of Object.entries(required)) {
    if (!(k in o)) throw new Wrong(`${at(k)} is missing`);
    scalar(o[k], at(k), kind);
  }
  for (const [k, kind] of Object.entries(optional)) if (o[k] !== undefined) scalar(o[k], at(k), kind);
}

function listOf(v: unknown, what: string, each: (o: JsonObject, path: string) => void): JsonObject[] {
  return list(v, '', `a list of ${what}`).map((e, i) => {
    const o = object(e, `entry ${i}`, `an object (${what})`);
    each(o, `entry ${i}`);
    return o;
  });
}

/** Every member present is a number (MigrationStats and friends). */
function numbers(v: unknown, path: string, what: string): void {
  const o = object(v, path, what);
  for (const [k, x] of Object.entries(o)) if (x !== undefined) scalar(x, `${path}.${k}`, 'number');
}

function numberList(v: unknown, path: string): void {
  list(v, path, 'a list of numbers').forEach((x, i) => scalar(x, `${path}[${i}]`, 'number'));
}

const migrationNumbers = [
  'total-time', 'expected-downtime', 'downtime', 'setup-time', 'cpu-throttle-percentage', 'postcopy-blocktime',
  'postcopy-latency', 'postcopy-non-vcpu-latency', 'dirty-limit-throttle-time-per-round', 'dirty-limit-ring-full-time',
];
const migrationNumberLists = ['postcopy-vcpu-blocktime', 'postcopy-latency-dist', 'postcopy-vcpu-latency'];

function migrationInfo(v: unknown): void {
  const o = object(v, '', 'an object (MigrationInfo)');
  members(o, '', {}, { status: 'string', 'error-desc': 'string' });
  for (const k of ['ram', 'disk', 'xbzrle-cache', 'compression', 'vfio']) if (o[k] !== undefined) numbers(o[k], k, 'an object of numbers');
  for (const k of migrationNumbers) if (o[k] !== undefined) scalar(o[k], k, 'number');
  for (const k of migrationNumberLists) if (o[k] !== undefined) numberList(o[k], k);
  if (o['blocked-reasons'] !== undefined) list(o['blocked-reasons'], 'blocked-reasons', 'a list of strings').forEach((x, i) => scalar(x, `blocked-reasons[${i}]`, 'string'));
}

/** Decoders by command name: each checks the reply and throws Wrong with what it found. */
const decoders: { readonly [C in keyof QmpReplies]: (v: unknown) => void } = {
  'query-migrate': migrationInfo,
  'query-migrate-capabilities': (v) => listOf(v, 'MigrationCapabilityStatus', (o, p) => members(o, p, { capability: 'string', state: 'boolean' })),
  'query-migrate-parameters': (v) => {
    const o = object(v, '', 'an object (MigrationParameters)');
    members(o, '', {}, { 'multifd-channels': 'number', 'max-bandwidth': 'number', 'downtime-limit': 'number', 'multifd-compression': 'string', mode: 'string', 'zero-page-detection': 'string' });
  },
  'query-status': (v) => members(object(v, '', 'an object (StatusInfo)'), '', { running: 'boolean', status: 'string' }, { singlestep: 'boolean' }),
  'query-jobs': (v) => listOf(v, 'JobInfo', (o, p) => members(o, p, { id: 'string', type: 'string', status: 'string', 'current-progress': 'number', 'total-progress': 'number' }, { error: 'string' })),
  'query-qmp-schema': (v) => listOf(v, 'SchemaInfo', (o, p) => members(o, p, { name: 'string', 'meta-type': 'string' })),
  'query-kvm': (v) => members(object(v, '', 'an object (KvmInfo)'), '', { enabled: 'boolean', present: 'boolean' }),
  'query-cpus-fast': (v) => listOf(v, 'CpuInfoFast', (o, p) => members(o, p, { 'cpu-index': 'number', 'qom-path': 'string', 'thread-id': 'number' }, { target: 'string' })),
  'query-migrationthreads': (v) => listOf(v, 'MigrationThreadInfo', (o, p) => members(o, p, { name: 'string', 'thread-id': 'number' })),
  'query-memdev': (v) => listOf(v, 'Memdev', (o, p) => members(o, p, { share: 'boolean' }, { id: 'string', size: 'number' })),
  'query-block': (v) => listOf(v, 'BlockInfo', (o, p) => {
    members(o, p, { device: 'string' });
    if (o['inserted'] !== undefined) members(object(o['inserted'], `${p}.inserted`, 'an object (BlockDeviceInfo)'), `${p}.inserted`, {}, { 'node-name': 'string', ro: 'boolean', drv: 'string' });
  }),
  'human-monitor-command': (v) => scalar(v, '', 'string'),
  'qom-list': (v) => listOf(v, 'ObjectPropertyInfo', (o, p) => members(o, p, { name: 'string', type: 'string' }, { description: 'string' })),
  'trace-event-get-state': (v) => listOf(v, 'TraceEventInfo', (o, p) => members(o, p, { name: 'string', state: 'string' }, { vcpu: 'boolean' })),
  'x-query-virtio': (v) => listOf(v, 'VirtioInfo', (o, p) => members(o, p, { path: 'string', name: 'string' })),
  'x-query-virtio-status': (v) => members(object(v, '', 'an object (VirtioStatus)'), '', { name: 'string' }, { 'vhost-started': 'boolean' }),
};

function isDecoded(command: string): command is keyof QmpReplies {
  return Object.prototype.hasOwnProperty.call(decoders, command);
}

/** The reply to `command`, typed; throws QmpReplyError when its shape is wrong. */
export function decodeReply<C extends keyof QmpReplies>(command: C, value: unknown): QmpReplies[C] {
  try {
    decoders[command](value);
  } catch (e) {
    if (e instanceof Wrong) throw new QmpReplyError(command, e.message);
    throw e;
  }
  return value as QmpReplies[C];
}

/** decodeReply for commands that have a decoder; other replies pass as they are. */
export function checkReply(command: string, value: unknown): unknown {
  return isDecoded(command) ? decodeReply(command, value) : value;
}
