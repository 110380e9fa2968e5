import type { QmpSchema, SchemaMember } from '../qmp/schema';

/** How a migration parameter is edited and validated, derived from `query-qmp-schema`. */
export type ParameterSpec =
  | { name: string; kind: 'enum'; values: string[] }
  | { name: string; kind: 'int'; min: number; max: number }
  | { name: string; kind: 'bool' }
  | { name: string; kind: 'str' }
  | { name: string; kind: 'other'; type: string };

/** What one QEMU offers, so the UI shows only commands and values it understands. */
export interface MonitorFeatures {
  commands: ReadonlySet<string>;
  capabilities: string[];
  parameters: ParameterSpec[];
  /** `MigMode` values (`normal`, `cpr-reboot`, ...); empty before QEMU 8.2. */
  modes: string[];
  zeroPageDetection: string[];
  multifdCompression: string[];
  migrationThreads: boolean;
  jobs: boolean;
  snapshots: boolean;
  /** Commands that may run out-of-band (`migrate-pause`, `migrate-recover`). */
  oobCommands: ReadonlySet<string>;
}

/**
 * Documented ranges of integer parameters (QEMU's migration/options.c checks). The schema only
 * says "int"; anything not listed is a non-negative 64-bit size.
 */
const intRanges: Record<string, readonly [number, number]> = {
  'compress-level': [0, 9],
  'compress-threads': [1, 255],
  'decompress-threads': [1, 255],
  'throttle-trigger-threshold': [1, 100],
  'cpu-throttle-initial': [1, 99],
  'cpu-throttle-increment': [1, 99],
  'max-cpu-throttle': [1, 99],
  'multifd-channels': [1, 255],
  'multifd-zlib-level': [0, 9],
  'multifd-zstd-level': [0, 20],
  'multifd-qatzip-level': [1, 9],
  'downtime-limit': [0, 2_000_000],
  'x-vcpu-dirty-limit-period': [1, 1000],
  'vcpu-dirty-limit': [1, Number.MAX_SAFE_INTEGER],
};

const builtinInt: Record<string, readonly [number, number]> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
};

function specOf(schema: QmpSchema, m: SchemaMember): ParameterSpec {
  const values = schema.enumValues(m.typeName);
  if (values) return { name: m.name, kind: 'enum', values };
  if (m.type === 'bool') return { name: m.name, kind: 'bool' };
  if (m.type === 'str') return { name: m.name, kind: 'str' };
  const intLike = ['int', 'int64', 'uint64', 'size', ...Object.keys(builtinInt)];
  if (intLike.includes(m.type)) {
    const [min, max] = intRanges[m.name] ?? builtinInt[m.type] ?? [0, Number.MAX_SAFE_INTEGER];
    return { name: m.name, kind: 'int', min, max };
  }
  // tls-* are alternates of str and null: edited as strings.
  if (m.type === 'alternate' && m.name.startsWith('tls-')) return { name: m.name, kind: 'str' };
  return { name: m.name, kind: 'other', type: m.type };
}

export function detectFeatures(schema: QmpSchema): MonitorFeatures {
  const commands = new Set(schema.commands);
  const oob = new Set(schema.commands.filter((c) => schema.allowsOob(c)));
  const params = (schema.commandArgs('migrate-set-parameters') ?? []).map((m) => specOf(schema, m));
  return {
    commands,
    capabilities: schema.enumValues('MigrationCapability') ?? [],
    parameters: params,
    modes: schema.enumValues('MigMode') ?? [],
    zeroPageDetection: schema.enumValues('ZeroPageDetection') ?? [],
    multifdCompression: schema.enumValues('MultiFDCompression') ?? [],
    migrationThreads: commands.has('query-migrationthreads'),
    jobs: commands.has('query-jobs'),
    snapshots: commands.has('snapshot-save'),
    oobCommands: oob,
  };
}

/** True when this QEMU has the parameter and, for an enum, the value (`mode` `cpr-transfer`). */
export function offersParameterValue(f: MonitorFeatures, name: string, value: unknown): boolean {
  const spec = f.parameters.find((p) => p.name === name);
  if (!spec) return false;
  return spec.kind !== 'enum' || (typeof value === 'string' && spec.values.includes(value));
}

/**
 * What a QEMU lacks of the capabilities and parameter values asked of it, one phrase each
 * (`no migration parameter 'mode'`, `no mode 'cpr-transfer' (it offers normal, cpr-reboot)`).
 */
export function missingFeatures(f: MonitorFeatures, capabilities: Readonly<Record<string, boolean>>, parameters: Readonly<Record<string, unknown>>): string[] {
  const out: string[] = [];
  for (const c of Object.keys(capabilities)) {
    if (!f.capabilities.includes(c)) out.push(`no migration capability '${c}'`);
  }
  for (const [name, value] of Object.entries(parameters)) {
    const spec = f.parameters.find((p) => p.name === name);
    if (!spec) out.push(`no migration parameter '${name}'`);
    else if (!offersParameterValue(f, name, value) && spec.kind === 'enum') out.push(`no ${name} ${JSON.stringify(value)} (it offers ${spec.values.join(', ')})`);
  }
  return out;
}

export type Parsed = { ok: true; value: unknown } | { ok: false; message: string };

/** Parses what a user typed for a parameter; the message says what is allowed. */
export function parseParameterValue(spec: ParameterSpec, text: string): Parsed {
  const t = text.trim();
  switch (spec.kind) {
    case 'enum':
      return spec.values.includes(t) ? { ok: true, value: t } : { ok: false, message: `${spec.name} must be one of ${spec.values.join(', ')}` };
    case 'bool':
      if (['on', 'true', 'yes', '1'].includes(t)) return { ok: true, value: true };
      if (['off', 'false', 'no', '0'].includes(t)) return { ok: true, value: false };
      return { ok: false, message: `${spec.name} must be on or off` };
    case 'int': {
      if (!/^-?\d+$/.test(t)) return { ok: false, message: `${spec.name} must be an integer between ${spec.min} and ${spec.max}` };
      const n = Number(t);
      if (!Number.isSafeInteger(n) || n < spec.min || n > spec.max) {
        return { ok: false, message: `${spec.name} must be between ${spec.min} and ${spec.max}, got ${t}` };
      }
      return { ok: true, value: n };
    }
    case 'str':
      return { ok: true, value: t };
    case 'other':
      try {
        return { ok: true, value: JSON.parse(t) as unknown };
      } catch {
        return { ok: false, message: `${spec.name} (${spec.type}) must be written as JSON` };
      }
  }
}
