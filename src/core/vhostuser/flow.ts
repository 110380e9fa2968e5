import type { Direction, SpecModel } from './model';

/** One vhost-user message seen on one connection (a request or its reply). */
export interface FlowMessage {
  /** 1-based line in the log/capture it came from. */
  readonly line: number;
  readonly id: number;
  /** Name from the spec model (or as the log printed it); undefined when the id is not in the model. */
  readonly name: string | undefined;
  /** Which side's message type this is: front-end requests (and their replies) or back-end requests. */
  readonly type: Direction;
  readonly isReply: boolean;
  /** Header flags, when the source shows them. */
  readonly flags: number | undefined;
  /** Payload size from the header, when visible. */
  readonly size: number | undefined;
  /** First 8 payload bytes as u64 (features, vring state...), when visible. */
  readonly u64: bigint | undefined;
  /** Number of file descriptors passed with it, when visible. */
  readonly fds: number | undefined;
}

/** What a source can show; a rule that needs something invisible reports "unknown". */
export interface FlowVisibility {
  readonly flags: boolean;
  readonly payloads: boolean;
  readonly fds: boolean;
  readonly replies: boolean;
}

export type FlowFormat = 'qemu-trace' | 'dpdk-log' | 'libvhost-user-log' | 'strace';

/**
 * A change of the vhost-user socket's state as QEMU's trace shows it (`vhost_user_event chr: c0
 * got event: 4`, QEMUChrEvent numbering): the back-end connected, or closed the connection.
 */
export interface ConnectionEvent {
  readonly line: number;
  /** The chardev's id (`-chardev socket,id=c0,...`). */
  readonly chardev: string;
  readonly event: number;
  readonly kind: 'opened' | 'closed' | 'other';
}

/** QEMUChrEvent values (include/chardev/char.h): BREAK 0, OPENED 1, MUX_IN 2, MUX_OUT 3, CLOSED 4. */
export function connectionEventKind(event: number): ConnectionEvent['kind'] {
  return event === 1 ? 'opened' : event === 4 ? 'closed' : 'other';
}

export interface Flow {
  readonly format: FlowFormat;
  /** Which connection this is (socket path, fd), when the source names it. */
  readonly connection: string | undefined;
  readonly visibility: FlowVisibility;
  readonly messages: FlowMessage[];
  /** Other connections present in the source that were not selected. */
  readonly otherConnections: readonly string[];
  /** QEMU's own postcopy events around the messages (vhost_user_postcopy_*, vhost_user_set_mem_table_postcopy): count and first line. */
  readonly events?: Readonly<Record<string, { count: number; firstLine: number }>> | undefined;
  /** The socket opening and closing, in line order (QEMU traces with `vhost_user_event`). */
  readonly connectionEvents?: readonly ConnectionEvent[] | undefined;
}

/** The QEMU trace events, besides the messages, that a flow keeps a summary of. */
export const POSTCOPY_EVENT = /^vhost_user_(postcopy_\w+|set_mem_table_postcopy)$/;

export const FLAG_REPLY = 0x4;
export const FLAG_NEED_REPLY = 0x8;

/** Resolves ids to names (and back) through the spec model, accepting old names (SLAVE) too. */
export class MessageNames {
  private readonly byId: Record<Direction, (string | undefined)[]>;
  private readonly byName: Map<string, { id: number; name: string; type: Direction }>;
  constructor(model: SpecModel) {
    this.byId = { 'front-end': [], 'back-end': [] };
    this.byName = new Map();
    for (const m of [...model.frontEnd, ...model.backEnd]) {
      this.byId[m.direction][m.id] = m.name;
      this.byName.set(m.name, { id: m.id, name: m.name, type: m.direction });
      for (const a of m.aliases) this.byName.set(a, { id: m.id, name: m.name, type: m.direction });
    }
    // Old and new spellings of back-end messages (SLAVE_* <-> BACKEND_*) and SET_SLAVE_REQ_FD.
    for (const [k, v] of [...this.byName]) {
      const other = k.includes('_SLAVE_') ? k.replace('_SLAVE_', '_BACKEND_') : k.includes('_BACKEND_') ? k.replace('_BACKEND_', '_SLAVE_') : undefined;
      if (other && !this.byName.has(other)) this.byName.set(other, v);
    }
  }
  name(id: number, type: Direction): string | undefined {
    return this.byId[type][id];
  }
  lookup(name: string): { id: number; name: string; type: Direction } | undefined {
    return this.byName.get(name);
  }
}
