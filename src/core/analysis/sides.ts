/** Which side of a migration a trace was recorded on, from the events it holds. */
import type { TraceStore } from '../trace/store';
import type { Side } from './model';

const SRC_PREFIXES = ['multifd_send', 'savevm_', 'migration_thread', 'postcopy_start', 'migration_completion', 'ram_save', 'migration_bitmap', 'multifd_new_send', 'vmstate_downtime_save'];
const DST_PREFIXES = ['multifd_recv', 'loadvm_', 'postcopy_ram_fault', 'postcopy_place_page', 'postcopy_init_range', 'ram_load', 'process_incoming', 'migration_socket_incoming', 'vhost_user_postcopy', 'vmstate_downtime_load'];

/** Events that point at each side; positive favours the source. */
export function sideScore(store: TraceStore): number {
  let s = 0;
  for (const name of store.names()) {
    const n = store.count(name);
    if (n === 0) continue;
    if (SRC_PREFIXES.some((p) => name.startsWith(p))) s += 1;
    if (DST_PREFIXES.some((p) => name.startsWith(p))) s -= 1;
  }
  return s;
}

/**
 * Sides of one or two traces. With two, the one scoring more source-like is the source;
 * with one, its score decides (a tie reads as the source).
 */
export function detectSides(stores: readonly TraceStore[]): Side[] {
  if (stores.length === 1) return [sideScore(stores[0]!) >= 0 ? 'src' : 'dst'];
  if (stores.length !== 2) throw new Error(`expected one or two traces (source and destination), got ${stores.length}`);
  const [a, b] = stores.map(sideScore) as [number, number];
  return a >= b ? ['src', 'dst'] : ['dst', 'src'];
}
