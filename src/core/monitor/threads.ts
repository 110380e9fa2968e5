/** An entry of `query-migrationthreads`. */
export interface MigrationThreadInfo {
  name: string;
  'thread-id': number;
}

export interface MappedThread {
  name: string;
  threadId: number;
  /** `send` / `recv` for multifd channels, `main` for the migration thread, `other` otherwise. */
  kind: 'send' | 'recv' | 'main' | 'other';
  /** Multifd channel number, for multifd threads. */
  channel?: number;
}

/** QEMU names multifd threads `multifdsend_N` / `multifdrecv_N` (up to 9.0) or `mig/src/send_N` / `mig/dst/recv_N` (9.1+). */
const channelName = /^(?:multifd(send|recv)_|mig\/(?:src|dst)\/(send|recv)_)(\d+)$/;

export function mapThread(t: MigrationThreadInfo): MappedThread {
  const m = channelName.exec(t.name);
  if (m) {
    const kind = (m[1] ?? m[2]) === 'send' ? 'send' : 'recv';
    return { name: t.name, threadId: t['thread-id'], kind, channel: Number(m[3]) };
  }
  const main = t.name === 'live_migration' || t.name === 'mig/src/main' || t.name === 'mig/dst/main';
  return { name: t.name, threadId: t['thread-id'], kind: main ? 'main' : 'other' };
}

/** Main thread first, then channels in order. */
export function mapThreads(list: readonly MigrationThreadInfo[]): MappedThread[] {
  const rank = (t: MappedThread): number => (t.kind === 'main' ? -1 : (t.channel ?? 1000));
  return list.map(mapThread).sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}
