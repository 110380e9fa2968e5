/**
 * The threads of one QEMU as the debugger lists them: its vCPUs (`query-cpus-fast`) and its
 * migration threads, from `query-migrationthreads` where the schema has it (8.0 on), otherwise
 * from /proc for a QEMU on this host whose pid is known.
 */
import type { QmpReplies } from '../../core/qmp/replies';
import type { SideName } from '../config';
import { taskNames, type TaskName } from './localQemu';

export interface SideThread {
  /** Stable within a side: `vcpu/0`, `mig/live_migration`. */
  key: string;
  name: string;
  tid: number | undefined;
  kind: 'vcpu' | 'migration';
}

export interface ThreadEndpoint {
  readonly schema: { hasCommand(name: string): boolean };
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T>;
}

/** Thread names QEMU gives its migration threads, 7.2 (`live_migration`, `multifdsend_0`, `return path`) to 10.x (`mig/src/send_0`). */
const migrationThreadName = /^(live_migration|multifd|mig\/|return path|postcopy\/|bg_snapshot|colo|get_dirtyrate)/;

export function isMigrationThreadName(name: string): boolean {
  return migrationThreadName.test(name);
}

export interface ThreadListing {
  threads: SideThread[];
  /** Why migration threads cannot be listed, when they cannot. */
  note?: string;
}

/** vCPUs first (by index), then migration threads (by thread id). */
export async function listSideThreads(e: ThreadEndpoint, pid: number | undefined): Promise<ThreadListing> {
  const viaQmp = e.schema.hasCommand('query-migrationthreads');
  const [cpus, mig, tasks] = await Promise.all([
    // The QMP client checks both replies' shapes (core/qmp/replies).
    e.execute<QmpReplies['query-cpus-fast']>('query-cpus-fast'),
    viaQmp ? e.execute<QmpReplies['query-migrationthreads']>('query-migrationthreads') : undefined,
    pid !== undefined ? taskNames(pid) : Promise.resolve<TaskName[]>([]),
  ]);
  const names = new Map(tasks.map((t) => [t.tid, t.name]));
  const threads: SideThread[] = [...cpus]
    .sort((a, b) => a['cpu-index'] - b['cpu-index'])
    .map((c) => ({ key: `vcpu/${c['cpu-index']}`, name: names.get(c['thread-id']) ?? `CPU ${c['cpu-index']}`, tid: c['thread-id'], kind: 'vcpu' }));
  let note: string | undefined;
  // query-migrationthreads lists the threads QEMU registers (the source's main and multifd
  // threads); /proc adds the others a local QEMU has (return path, receive and postcopy threads).
  const migration = (mig ?? []).map((m) => ({ name: m.name, tid: m['thread-id'] as number | undefined }));
  if (pid !== undefined) {
    const listed = new Set(migration.map((m) => m.tid));
    for (const t of tasks) if (isMigrationThreadName(t.name) && !listed.has(t.tid)) migration.push({ name: t.name, tid: t.tid });
    if (!mig && tasks.length > 1 && tasks.every((t) => t.name === tasks[0]?.name)) {
      note = `QEMU (pid ${pid}) has not named its threads: start it with -name NAME,debug-threads=on to see its migration threads`;
    }
  } else if (!mig) {
    note = 'this QEMU has no query-migrationthreads and its pid is not known here (not a local unix socket): migration threads are not listed';
  }
  for (const m of migration.sort((a, b) => (a.tid ?? 0) - (b.tid ?? 0))) {
    threads.push({ key: `mig/${m.name}/${m.tid ?? ''}`, name: m.name, tid: m.tid, kind: 'migration' });
  }
  return note === undefined ? { threads } : { threads, note };
}

/** DAP thread ids: one number per (side, thread key) for the whole session. */
export class ThreadIds {
  private readonly ids = new Map<string, number>();
  private readonly owners = new Map<number, { side: SideName; key: string }>();
  private next = 1;

  idFor(side: SideName, key: string): number {
    const k = `${side}\u0000${key}`;
    let id = this.ids.get(k);
    if (id === undefined) {
      id = this.next++;
      this.ids.set(k, id);
      this.owners.set(id, { side, key });
    }
    return id;
  }

  owner(id: number): { side: SideName; key: string } | undefined {
    return this.owners.get(id);
  }
}
