/**
 * Task definitions of type `qemu-migration` (tasks.json or provided): what each kind means, read
 * from untyped JSON and checked field by field. Binaries are never named here: a QEMU is chosen by
 * version among the installed ones, the bridge and testpmd come from user settings or the setup
 * cache (see resolve.ts).
 */

export const TASK_TYPE = 'qemu-migration';

export const TASK_KINDS = ['vhost-user-bridge', 'qemu', 'testpmd', 'migrate', 'postcopy-bridge'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];
export type TaskRole = 'source' | 'destination';

interface Common {
  readonly type: typeof TASK_TYPE;
  /**
   * Tasks of one run share a socket folder and a log folder (default `default`): the bridge's
   * socket is where the QEMU of the same run and role looks for it.
   */
  readonly run: string;
}

export interface BridgeTaskDefinition extends Common {
  readonly kind: 'vhost-user-bridge';
  readonly role: TaskRole;
  /** The vhost-user socket: a name in the run's socket folder or an absolute path. */
  readonly socket?: string | undefined;
  /** `host:port` the bridge receives UDP on; default a free loopback port. */
  readonly localUdp?: string | undefined;
  /** `host:port` it sends to; default a free loopback port. */
  readonly remoteUdp?: string | undefined;
  /** Connect to QEMU's socket instead of listening on it. */
  readonly client?: boolean | undefined;
}

export interface QemuTaskDefinition extends Common {
  readonly kind: 'qemu';
  readonly role: TaskRole;
  /** An installed QEMU by version (`7.2`, `10.0`, `10.0.2`); default the QEMUMigration.QEMUBinary setting. */
  readonly qemu?: string | undefined;
  readonly memoryMiB: number;
  /** Guest RAM in a shared memfd (what a vhost-user back-end maps); default on when vhostUser is set. */
  readonly sharedMemory: boolean;
  /** The back-end's socket (a bridge's or testpmd's): a name in the run's folder or an absolute path; none: no NIC. */
  readonly vhostUser?: string | undefined;
  /** QMP socket: a name in the run's folder or an absolute path; default `<role>-qmp.sock`. */
  readonly qmp?: string | undefined;
  /** `-trace enable=` patterns, one option each. */
  readonly traceEvents: readonly string[];
  /** The lab guest's dirtying rate, MiB/s. */
  readonly guestRateMiBps: number;
}

export interface TestpmdTaskDefinition extends Common {
  readonly kind: 'testpmd';
  readonly role: TaskRole;
  readonly socket?: string | undefined;
}

export interface MigrateTaskDefinition extends Common {
  readonly kind: 'migrate';
  /** QMP sockets of the two QEMUs; default the run's `source-qmp.sock` and `destination-qmp.sock`. */
  readonly source?: string | undefined;
  readonly destination?: string | undefined;
  /** Set on both sides. */
  readonly capabilities: Readonly<Record<string, boolean>>;
  readonly parameters: Readonly<Record<string, unknown>>;
  /** Switch to postcopy this many seconds after `migrate`, or once this many precopy passes are done. */
  readonly postcopy?: { readonly afterSeconds?: number | undefined; readonly afterPasses?: number | undefined } | undefined;
}

export interface CompoundTaskDefinition extends Common {
  readonly kind: 'postcopy-bridge';
  /** Both QEMUs, by version; default 10.0 when installed, else the QEMUMigration.QEMUBinary setting. */
  readonly qemu?: string | undefined;
  /** Keep the QEMUs (and what is left of the bridges) running after the migration until the task is ended. */
  readonly keepRunning: boolean;
}

export type TaskDefinition = BridgeTaskDefinition | QemuTaskDefinition | TestpmdTaskDefinition | MigrateTaskDefinition | CompoundTaskDefinition;

/** A definition that does not validate; `problems` names each field. */
export class TaskDefinitionError extends Error {
  override readonly name = 'TaskDefinitionError';
  constructor(readonly problems: readonly string[]) {
    super(`qemu-migration task: ${problems.join('; ')}`);
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export const defaultTraceEvents: readonly string[] = ['vhost_user_*', 'postcopy_*', 'migration_*', 'migrate_*', '-migrate_pending', '-migration_rate_limit_pre', '-migration_rate_limit_post'];

const ALLOWED: Readonly<Record<TaskKind, readonly string[]>> = {
  'vhost-user-bridge': ['role', 'socket', 'localUdp', 'remoteUdp', 'client'],
  qemu: ['role', 'qemu', 'memoryMiB', 'sharedMemory', 'vhostUser', 'qmp', 'traceEvents', 'guestRateMiBps'],
  testpmd: ['role', 'socket'],
  migrate: ['source', 'destination', 'capabilities', 'parameters', 'postcopy'],
  'postcopy-bridge': ['qemu', 'keepRunning'],
};

/** Reads a task definition; every problem is named with its property, all of them at once. */
export function parseTaskDefinition(raw: unknown): TaskDefinition {
  const problems: string[] = [];
  if (!isObj(raw)) throw new TaskDefinitionError(['the definition is not an object']);
  if (raw['type'] !== TASK_TYPE) problems.push(`type must be "${TASK_TYPE}"`);
  const kind = raw['kind'];
  if (typeof kind !== 'string' || !(TASK_KINDS as readonly string[]).includes(kind)) {
    throw new TaskDefinitionError([...problems, `kind must be one of ${TASK_KINDS.join(', ')}${kind === undefined ? '' : `, not ${JSON.stringify(kind)}`}`]);
  }
  const k = kind as TaskKind;
  for (const key of Object.keys(raw)) {
    if (key !== 'type' && key !== 'kind' && key !== 'run' && key !== 'label' && key !== 'problemMatcher' && !ALLOWED[k].includes(key)) {
      problems.push(`${key} is not a property of kind ${k} (it has: ${['run', ...ALLOWED[k]].join(', ')})`);
    }
  }
  const str = (key: string, re?: RegExp, what?: string): string | undefined => {
    const v = raw[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '' || (re !== undefined && !re.test(v))) { problems.push(`${key} must be ${what ?? 'a non-empty string'}, not ${JSON.stringify(v)}`); return undefined; }
    return v;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = raw[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') { problems.push(`${key} must be true or false`); return fallback; }
    return v;
  };
  const num = (key: string, fallback: number, min: number, max: number, integer = true): number => {
    const v = raw[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
      problems.push(`${key} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
      return fallback;
    }
    return v;
  };
  const role = (): TaskRole => {
    const v = raw['role'];
    if (v === 'source' || v === 'destination') return v;
    problems.push(`role must be "source" or "destination"${v === undefined ? '' : `, not ${JSON.stringify(v)}`}`);
    return 'source';
  };
  const run = str('run', /^[A-Za-z0-9_.-]{1,32}$/, 'a name of up to 32 letters, digits, . _ -') ?? 'default';
  const socketLike = /^[^,\0]+$/;
  const hostPort = /^[^:\s,]+:\d{1,5}$/;
  const version = /^\d+\.\d+(\.\d+)?$/;
  let def: TaskDefinition;
  switch (k) {
    case 'vhost-user-bridge':
      def = { type: TASK_TYPE, kind: k, run, role: role(), socket: str('socket', socketLike, 'a socket path without commas'), localUdp: str('localUdp', hostPort, 'HOST:PORT'), remoteUdp: str('remoteUdp', hostPort, 'HOST:PORT'), client: bool('client', false) };
      break;
    case 'qemu': {
      const vhostUser = str('vhostUser', socketLike, 'a socket path without commas');
      const traces = raw['traceEvents'];
      let traceEvents = defaultTraceEvents;
      if (traces !== undefined) {
        if (!Array.isArray(traces) || traces.some((t) => typeof t !== 'string' || !/^-?[A-Za-z0-9_*?]+$/.test(t))) problems.push('traceEvents must be a list of trace patterns (letters, digits, _, * and ?; a leading - disables)');
        else traceEvents = traces as string[];
      }
      def = {
        type: TASK_TYPE, kind: k, run, role: role(), qemu: str('qemu', version, 'a QEMU version such as "10.0" or "7.2" (binaries come from settings)'),
        memoryMiB: num('memoryMiB', 256, 16, 3072), sharedMemory: bool('sharedMemory', vhostUser !== undefined), vhostUser,
        qmp: str('qmp', socketLike, 'a socket path without commas'), traceEvents, guestRateMiBps: num('guestRateMiBps', 32, 0, 4096),
      };
      break;
    }
    case 'testpmd':
      def = { type: TASK_TYPE, kind: k, run, role: role(), socket: str('socket', socketLike, 'a socket path without commas') };
      break;
    case 'migrate': {
      const caps = raw['capabilities'] ?? { 'postcopy-ram': true, events: true };
      const params = raw['parameters'] ?? { 'max-bandwidth': 16 * 1024 * 1024, 'max-postcopy-bandwidth': 8 * 1024 * 1024 };
      if (!isObj(caps) || Object.values(caps).some((v) => typeof v !== 'boolean')) problems.push('capabilities must map capability names to true or false');
      if (!isObj(params)) problems.push('parameters must be an object of migration parameters');
      let postcopy: MigrateTaskDefinition['postcopy'];
      const pc = raw['postcopy'];
      if (pc !== undefined && pc !== false) {
        if (!isObj(pc) || (pc['afterSeconds'] === undefined) === (pc['afterPasses'] === undefined)) {
          problems.push('postcopy must be {"afterSeconds": N} or {"afterPasses": N}');
        } else {
          const s = pc['afterSeconds'];
          const p = pc['afterPasses'];
          if (s !== undefined && (typeof s !== 'number' || !(s >= 0) || s > 3600)) problems.push('postcopy.afterSeconds must be a number of seconds from 0 to 3600');
          if (p !== undefined && (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 1000)) problems.push('postcopy.afterPasses must be an integer from 1 to 1000');
          postcopy = typeof s === 'number' ? { afterSeconds: s } : { afterPasses: Number(p) };
        }
      }
      def = {
        type: TASK_TYPE, kind: k, run, source: str('source', socketLike, 'a socket path'), destination: str('destination', socketLike, 'a socket path'),
        capabilities: isObj(caps) ? (caps as Record<string, boolean>) : {}, parameters: isObj(params) ? params : {}, postcopy,
      };
      break;
    }
    case 'postcopy-bridge':
      def = { type: TASK_TYPE, kind: k, run, qemu: str('qemu', version, 'a QEMU version such as "10.0" or "7.2"'), keepRunning: bool('keepRunning', false) };
      break;
  }
  if (problems.length) throw new TaskDefinitionError(problems);
  return def;
}

/** The tasks "Run Task" offers: a pair over the bridges (and one over testpmd), the migration, the compound. */
export function providedTaskDefinitions(): readonly ({ type: typeof TASK_TYPE } & Record<string, unknown>)[] {
  const t = { type: TASK_TYPE } as const;
  return [
    { ...t, kind: 'postcopy-bridge', keepRunning: true },
    { ...t, kind: 'vhost-user-bridge', role: 'source' },
    { ...t, kind: 'vhost-user-bridge', role: 'destination' },
    { ...t, kind: 'qemu', role: 'destination', vhostUser: 'dst-vhost-user.sock' },
    { ...t, kind: 'qemu', role: 'source', vhostUser: 'src-vhost-user.sock' },
    { ...t, kind: 'testpmd', role: 'source', run: 'testpmd' },
    { ...t, kind: 'testpmd', role: 'destination', run: 'testpmd' },
    { ...t, kind: 'migrate', postcopy: { afterSeconds: 1 } },
  ];
}

/** `source` → `src`: the side names of file and socket names (lab recordings use them). */
export function sideOf(role: TaskRole): 'src' | 'dst' {
  return role === 'source' ? 'src' : 'dst';
}

/** A short title for a definition, e.g. "vhost-user-bridge (destination)". */
export function taskTitle(def: TaskDefinition): string {
  const run = def.run === 'default' ? '' : ` [${def.run}]`;
  switch (def.kind) {
    case 'vhost-user-bridge': return `vhost-user-bridge (${def.role})${run}`;
    case 'testpmd': return `testpmd (${def.role})${run}`;
    case 'qemu': return `QEMU ${def.role}${def.qemu ? ` ${def.qemu}` : ''}${def.vhostUser ? ' with vhost-user' : ''}${run}`;
    case 'migrate': return `Migrate source → destination${def.postcopy ? ' (postcopy)' : ''}${run}`;
    case 'postcopy-bridge': return `Postcopy migration with vhost-user-bridge${def.qemu ? ` (QEMU ${def.qemu})` : ''}${run}`;
  }
}
