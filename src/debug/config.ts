/**
 * The `qemu-migration` debug configurations as the adapter receives them (launch.json values,
 * untyped at the DAP boundary), checked into typed settings with messages that name the field.
 */
import { parseQmpTarget } from '../core/qmp/target';

export type SideName = 'source' | 'destination';
export const sideNames: readonly SideName[] = ['source', 'destination'];

/** A migration the session starts once its breakpoints are set. */
export interface MigrateSettings {
  capabilities: Record<string, boolean>;
  parameters: Record<string, unknown>;
  /** Default: a unix socket in a private temporary folder. */
  uri?: string;
}

/** A lab pair the launch request starts: the lab's guest in two QEMU processes on this host. */
export interface LabPairSettings {
  /** A QEMU version among the installed ones (`7.2`, `10.0`) or a binary. */
  qemu: string;
  /** Firmware folder passed as `-L`; default the install's own. */
  qemuDataDir?: string;
  memoryMiB: number;
  accelerators: string[];
  /** `-trace enable=` patterns given at start (function breakpoints enable more later). */
  traceEvents: string[];
  dirtyRateMiBps: number;
}

export interface SessionConfig {
  request: 'attach' | 'launch';
  label: string;
  /** QMP addresses (socket path, `unix:PATH`, `tcp:HOST:PORT`) by side. */
  addresses: Partial<Record<SideName, string>>;
  /** `-D` trace logs by side, when not found from the QEMU's own command line. */
  traceLogs: Partial<Record<SideName, string>>;
  /** launch: start a lab pair (otherwise the sockets come from a preLaunchTask). */
  lab?: LabPairSettings;
  migrate?: MigrateSettings;
  /** Send `stop` after a trace-event function breakpoint is hit (QEMU cannot halt on one). */
  stopOnTraceHit: boolean;
  /** Folder of `trace-events` files that decodes logpoints (default: the built-in catalogue nearest the QEMU version). */
  traceEventsDir?: string;
  /** Incoming URI `continue` gives `migrate-recover` in postcopy-paused (default a fresh unix socket). */
  recoverUri?: string;
  /** How long to wait for sockets (launch) and connections. Default 20 000 ms. */
  timeoutMs: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Obj, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ConfigError(`"${key}" must be a string, got ${JSON.stringify(v)}`);
  const t = v.trim();
  return t === '' ? undefined : t;
}

function int(o: Obj, key: string, fallback: number, min: number, max: number): number {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(`"${key}" must be an integer between ${min} and ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function strings(o: Obj, key: string): string[] {
  const v = o[key];
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x): x is string => typeof x === 'string')) throw new ConfigError(`"${key}" must be a list of strings`);
  return v;
}

function address(o: Obj, key: SideName): string | undefined {
  const a = str(o, key);
  if (a === undefined) return undefined;
  try {
    parseQmpTarget(a);
  } catch (e) {
    throw new ConfigError(`"${key}": ${e instanceof Error ? e.message : String(e)}`);
  }
  return a;
}

function migrateSettings(v: unknown): MigrateSettings | undefined {
  if (v === undefined || v === false) return undefined;
  if (v === true) return { capabilities: {}, parameters: {} };
  if (!isObj(v)) throw new ConfigError('"migrate" must be true or an object {capabilities, parameters, uri}');
  const caps = v['capabilities'] ?? {};
  if (!isObj(caps) || !Object.values(caps).every((s) => typeof s === 'boolean')) {
    throw new ConfigError('"migrate.capabilities" must map capability names to true or false');
  }
  const params = v['parameters'] ?? {};
  if (!isObj(params)) throw new ConfigError('"migrate.parameters" must be an object of migration parameters');
  const uri = str(v, 'uri');
  return { capabilities: caps as Record<string, boolean>, parameters: params, ...(uri !== undefined ? { uri } : {}) };
}

function labSettings(v: unknown): LabPairSettings {
  const lab = v === undefined || v === true ? {} : v;
  if (!isObj(lab)) throw new ConfigError('"lab" must be true or an object {qemu, qemuDataDir, memoryMiB, accelerators, traceEvents, dirtyRateMiBps}');
  const accelerators = strings(lab, 'accelerators');
  for (const a of accelerators) if (!/^[a-z][a-z0-9_-]*$/.test(a)) throw new ConfigError(`"lab.accelerators": invalid accelerator '${a}'`);
  const traceEvents = strings(lab, 'traceEvents');
  for (const p of traceEvents) if (!/^-?[A-Za-z0-9_*?]+$/.test(p)) throw new ConfigError(`"lab.traceEvents": invalid pattern '${p}'`);
  const dataDir = str(lab, 'qemuDataDir');
  return {
    qemu: str(lab, 'qemu') ?? 'qemu-system-x86_64',
    ...(dataDir !== undefined ? { qemuDataDir: dataDir } : {}),
    memoryMiB: int(lab, 'memoryMiB', 256, 16, 3072),
    accelerators: accelerators.length > 0 ? accelerators : ['tcg'],
    traceEvents,
    dirtyRateMiBps: int(lab, 'dirtyRateMiBps', 8, 0, 4096),
  };
}

/** Checks a launch or attach request's arguments; throws ConfigError naming the bad field. */
export function parseSessionConfig(request: 'attach' | 'launch', raw: unknown): SessionConfig {
  if (!isObj(raw)) throw new ConfigError('the debug configuration is not an object');
  const addresses: SessionConfig['addresses'] = {};
  const traceLogs: SessionConfig['traceLogs'] = {};
  for (const side of sideNames) {
    const a = address(raw, side);
    if (a !== undefined) addresses[side] = a;
  }
  const logs = raw['traceLogs'] ?? {};
  if (!isObj(logs)) throw new ConfigError('"traceLogs" must be an object {source, destination} of -D log paths');
  for (const side of sideNames) {
    const l = str(logs, side);
    if (l !== undefined) traceLogs[side] = l;
  }
  const labWanted = request === 'launch' && raw['lab'] !== undefined && raw['lab'] !== false;
  if (request === 'launch' && !labWanted && addresses.source === undefined && addresses.destination === undefined) {
    throw new ConfigError('launch needs "lab" (start a lab pair) or the "source"/"destination" sockets a preLaunchTask starts');
  }
  if (labWanted && (addresses.source !== undefined || addresses.destination !== undefined)) {
    throw new ConfigError('launch with "lab" starts its own pair: leave out "source" and "destination"');
  }
  if (request === 'attach' && addresses.source === undefined && addresses.destination === undefined) {
    throw new ConfigError('attach needs "source" and/or "destination": a QMP socket path or tcp:HOST:PORT');
  }
  const label = str(raw, 'label') ?? str(raw, 'name') ?? 'migration';
  const migrate = migrateSettings(raw['migrate']);
  const traceEventsDir = str(raw, 'traceEventsDir');
  const recoverUri = str(raw, 'recoverUri');
  const stop = raw['stopOnTraceHit'];
  if (stop !== undefined && typeof stop !== 'boolean') throw new ConfigError('"stopOnTraceHit" must be true or false');
  return {
    request,
    label,
    addresses,
    traceLogs,
    ...(labWanted ? { lab: labSettings(raw['lab']) } : {}),
    ...(migrate ? { migrate } : {}),
    stopOnTraceHit: stop === true,
    ...(traceEventsDir !== undefined ? { traceEventsDir } : {}),
    ...(recoverUri !== undefined ? { recoverUri } : {}),
    timeoutMs: int(raw, 'timeoutMs', 20_000, 100, 600_000),
  };
}
