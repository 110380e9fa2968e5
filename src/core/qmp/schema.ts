import type { QmpClient } from './client';
import { decodeReply } from './replies';

/** One entry of `query-qmp-schema` (SchemaInfo); only the fields used here are typed. */
export interface SchemaInfo {
  name: string;
  'meta-type': 'builtin' | 'enum' | 'array' | 'object' | 'alternate' | 'command' | 'event' | string;
  'arg-type'?: string;
  'ret-type'?: string;
  'allow-oob'?: boolean;
  'element-type'?: string;
  'json-type'?: string;
  values?: string[];
  members?: Array<{ name?: string; type?: string; default?: null }>;
  tag?: string;
  variants?: Array<{ case: string; type: string }>;
  features?: string[];
}

/** A member of an object type, with its type resolved. */
export interface SchemaMember {
  name: string;
  /** The schema's (usually numbered) type name. */
  typeName: string;
  /** Readable type: a builtin (`int`, `str`...), `enum`, `object`, `alternate`, or `T[]`. */
  type: string;
  optional: boolean;
}

/**
 * QAPI type names that `query-qmp-schema` hides behind numbers, located through the commands
 * that use them. Paths are tried in order; see QmpSchema.resolve for the syntax.
 */
const knownTypes: Record<string, string[]> = {
  MigrationCapability: ['migrate-set-capabilities.capabilities.capability', 'query-migrate-capabilities().capability'],
  MigrationCapabilityStatus: ['query-migrate-capabilities()'],
  MigrationParameters: ['query-migrate-parameters()'],
  MigrateSetParameters: ['migrate-set-parameters'],
  MigMode: ['migrate-set-parameters.mode', 'query-migrate-parameters().mode'],
  MultiFDCompression: ['migrate-set-parameters.multifd-compression', 'query-migrate-parameters().multifd-compression'],
  ZeroPageDetection: ['migrate-set-parameters.zero-page-detection', 'query-migrate-parameters().zero-page-detection'],
  MigrationStatus: ['query-migrate().status', 'MIGRATION.status'],
  MigrationInfo: ['query-migrate()'],
  MigrationStats: ['query-migrate().ram'],
  RunState: ['query-status().status'],
  StatusInfo: ['query-status()'],
  JobStatus: ['query-jobs().status'],
  JobType: ['query-jobs().type'],
};

/**
 * Feature detection over a `query-qmp-schema` reply: which commands, events, arguments,
 * migration parameters and enum values this QEMU understands.
 */
export class QmpSchema {
  private readonly byName = new Map<string, SchemaInfo>();

  constructor(entries: readonly SchemaInfo[]) {
    for (const e of entries) this.byName.set(e.name, e);
  }

  /** Checks the shape of a `query-qmp-schema` return value (QmpReplyError when it is wrong). */
  static fromReply(value: unknown): QmpSchema {
    return new QmpSchema(decodeReply('query-qmp-schema', value));
  }

  static async query(client: QmpClient): Promise<QmpSchema> {
    return new QmpSchema(await client.execute('query-qmp-schema'));
  }

  get commands(): string[] {
    return this.namesOf('command');
  }

  get events(): string[] {
    return this.namesOf('event');
  }

  /** The raw entry for a schema name (command, event or numbered type). */
  entry(name: string): SchemaInfo | undefined {
    return this.byName.get(name);
  }

  hasCommand(name: string): boolean {
    return this.byName.get(name)?.['meta-type'] === 'command';
  }

  hasEvent(name: string): boolean {
    return this.byName.get(name)?.['meta-type'] === 'event';
  }

  /** True when the command may be sent with `exec-oob`. */
  allowsOob(command: string): boolean {
    const e = this.byName.get(command);
    return e?.['meta-type'] === 'command' && e['allow-oob'] === true;
  }

  /** Arguments of a command, or undefined when there is no such command. */
  commandArgs(name: string): SchemaMember[] | undefined {
    const e = this.byName.get(name);
    if (e?.['meta-type'] !== 'command') return undefined;
    return this.membersOf(e['arg-type']);
  }

  /** Data members of an event, or undefined when there is no such event. */
  eventArgs(name: string): SchemaMember[] | undefined {
    const e = this.byName.get(name);
    if (e?.['meta-type'] !== 'event') return undefined;
    return this.membersOf(e['arg-type']);
  }

  /** True when `migrate-set-parameters` accepts this parameter (e.g. `multifd-channels`). */
  hasParameter(name: string): boolean {
    return this.commandArgs('migrate-set-parameters')?.some((m) => m.name === name) ?? false;
  }

  /** Every parameter `migrate-set-parameters` accepts. */
  migrationParameters(): string[] {
    return (this.commandArgs('migrate-set-parameters') ?? []).map((m) => m.name);
  }

  /** True when `migrate-set-capabilities` knows this capability (e.g. `multifd`, `postcopy-ram`). */
  hasCapability(name: string): boolean {
    return this.enumValues('MigrationCapability')?.includes(name) ?? false;
  }

  /**
   * Values of an enum, named by schema type name (`"402"`), by QAPI name for the types listed
   * in `knownTypes` (`MigrationCapability`, `MigMode`, ...), or by path (see resolve).
   * Undefined when it does not resolve to an enum (e.g. `MigMode` before QEMU 8.2).
   */
  enumValues(typeOrPath: string): string[] | undefined {
    const t = this.resolve(typeOrPath);
    if (t?.['meta-type'] !== 'enum') return undefined;
    if (Array.isArray(t.values)) return [...t.values];
    return (t.members ?? []).map((m) => m.name).filter((n): n is string => typeof n === 'string');
  }

  /** Members of the object type a name or path resolves to. */
  members(typeOrPath: string): SchemaMember[] | undefined {
    const t = this.resolve(typeOrPath);
    return t?.['meta-type'] === 'object' ? this.membersOf(t.name) : undefined;
  }

  /**
   * Resolves a type name or a path to a type entry. A path starts with a command (its
   * arguments), `command()` (its return value), an event (its data), a known QAPI name or a
   * schema type name, followed by `.member` steps; arrays are stepped through implicitly.
   * Examples: `migrate-set-parameters.mode`, `query-migrate().ram.mbps`,
   * `migrate-set-capabilities.capabilities.capability`.
   */
  resolve(typeOrPath: string): SchemaInfo | undefined {
    const known = knownTypes[typeOrPath];
    if (known) {
      for (const p of known) {
        const t = this.resolve(p);
        if (t) return t;
      }
      return undefined;
    }
    const [head = '', ...steps] = typeOrPath.split('.');
    let current = this.resolveHead(head);
    for (const step of steps) {
      if (!current) return undefined;
      current = this.memberType(this.unwrapArrays(current), step);
    }
    return current ? this.unwrapArrays(current) : undefined;
  }

  private resolveHead(head: string): SchemaInfo | undefined {
    if (head.endsWith('()')) {
      const cmd = this.byName.get(head.slice(0, -2));
      return cmd?.['meta-type'] === 'command' ? this.typeEntry(cmd['ret-type']) : undefined;
    }
    if (knownTypes[head]) return this.resolve(head);
    const e = this.byName.get(head);
    if (!e) return undefined;
    if (e['meta-type'] === 'command' || e['meta-type'] === 'event') return this.typeEntry(e['arg-type']);
    return e;
  }

  private typeEntry(name: string | undefined): SchemaInfo | undefined {
    return name === undefined ? undefined : this.byName.get(name);
  }

  private unwrapArrays(t: SchemaInfo): SchemaInfo {
    let cur = t;
    for (let depth = 0; cur['meta-type'] === 'array' && depth < 16; depth++) {
      const el = this.typeEntry(cur['element-type']);
      if (!el) return cur;
      cur = el;
    }
    return cur;
  }

  /** A member's type, looking in the object's own members first, then in its variants. */
  private memberType(obj: SchemaInfo, member: string): SchemaInfo | undefined {
    if (obj['meta-type'] !== 'object') return undefined;
    const own = obj.members?.find((m) => m.name === member);
    if (own) return this.typeEntry(own.type);
    for (const v of obj.variants ?? []) {
      const vt = this.typeEntry(v.type);
      const found = vt && vt !== obj ? this.memberType(vt, member) : undefined;
      if (found) return found;
    }
    return undefined;
  }

  private membersOf(typeName: string | undefined): SchemaMember[] {
    const t = this.typeEntry(typeName);
    if (t?.['meta-type'] !== 'object') return [];
    const out: SchemaMember[] = [];
    for (const m of t.members ?? []) {
      if (typeof m.name !== 'string' || typeof m.type !== 'string') continue;
      out.push({ name: m.name, typeName: m.type, type: this.describe(m.type), optional: 'default' in m });
    }
    return out;
  }

  private describe(typeName: string, depth = 0): string {
    const t = this.byName.get(typeName);
    if (!t) return typeName;
    switch (t['meta-type']) {
      case 'builtin':
        return t.name;
      case 'array':
        return depth < 8 && t['element-type'] ? `${this.describe(t['element-type'], depth + 1)}[]` : 'array';
      default:
        return t['meta-type'];
    }
  }

  private namesOf(metaType: string): string[] {
    const out: string[] = [];
    for (const e of this.byName.values()) if (e['meta-type'] === metaType) out.push(e.name);
    return out.sort();
  }
}
