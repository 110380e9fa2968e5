/**
 * Generates a simpletrace v4 file with the event mix of a QEMU 10.2 postcopy migration's
 * destination traced with `ram_*`, `qemu_file_*`, `postcopy_*`, `migration_*`, `migrate_*` and
 * `loadvm_*` (the demo recordings' patterns plus `ram_*` and `qemu_file_*`): a precopy pass of
 * `ram_load_loop` pages (block name as a string argument), the discard and listen handshake,
 * then postcopy pages (`ram_load_postcopy_loop` + `postcopy_place_page[_zero]`) with page
 * faults (`postcopy_ram_fault_thread_request` with its block name, requests added and
 * resolved, blocktime), and the cleanup. Framing, pid, clock and the event-id mapping (one
 * mapping record per event of the tree, as QEMU writes them at the start of a file) are taken
 * from the real 10.2.50 recording; argument layouts from its trace-events-all.
 * Usage: node --import tsx bench/simpletraceMix.ts [OUT] [--events N]
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { catalogueFromText, type Catalogue } from '../src/core/trace/catalogue';
import { seededRandom, simpletracePrologue } from '../src/core/trace/testSupport';
import { isStringType } from '../src/core/trace/traceEventsParser';

const fixtures = process.env.QMW_FIXTURES ?? resolve(__dirname, '..', '..', 'shared', 'fixtures');
export const mixTraceEvents = join(fixtures, 'qemu', '10.2.50', 'trace-events-all');
const realRecording = join(fixtures, 'recordings', 'qemu-10.2.50-simpletrace-small', 'dst-trace.simple');

type Value = number | string;

export interface MixResult {
  readonly events: number;
  readonly bytes: number;
  /** Events per kind, most frequent first. */
  readonly counts: [string, number][];
  /** Events with at least one string argument. */
  readonly withStrings: number;
}

/** The real recording's header and mapping records, its pid, first timestamp and name → id. */
function realPrologue(): { prologue: Buffer; pid: number; ts: number; ids: Map<string, number> } {
  const b = readFileSync(realRecording);
  const { head, ids, firstEvent: p } = simpletracePrologue(b);
  const ts = b.readUInt32LE(p + 16) + b.readUInt32LE(p + 20) * 4294967296;
  return { prologue: head, pid: b.readUInt32LE(p + 28), ts, ids };
}

/** RAM blocks of a pc guest as QEMU names them: [name, host address, size]. */
const BLOCKS: [string, number, number][] = [
  ['pc.ram', 0x7fd5a3e00000, 4 << 30],
  ['vga.vram', 0x7fd6c0e00000, 16 << 20],
  ['/rom@etc/acpi/tables', 0x7fd6c0200000, 128 << 10],
  ['pc.bios', 0x7fd6c0600000, 256 << 10],
  ['pc.rom', 0x7fd6c0800000, 128 << 10],
  ['/rom@etc/table-loader', 0x7fd6c0a00000, 4 << 10],
  ['/rom@etc/acpi/rsdp', 0x7fd6c0c00000, 4 << 10],
];
const PAGE = 4096;
// RAM_SAVE_FLAG_* of migration/ram.c.
const F_ZERO = 0x2, F_PAGE = 0x8, F_CONTINUE = 0x20;
// MIG_RP_MSG_* of migration/migration.h.
const RP_PONG = 3, RP_REQ_PAGES_ID = 5, RP_REQ_PAGES = 6;

export function generateSimpletraceMix(out: string, total = 1_450_000): MixResult {
  const cat: Catalogue = catalogueFromText(readFileSync(mixTraceEvents, 'utf8'), mixTraceEvents);
  const { prologue, pid, ts: ts0, ids } = realPrologue();
  const rnd = seededRandom(0x51ab1e);
  const fd = openSync(out, 'w');
  const buf = Buffer.alloc(8 << 20);
  let p = 0;
  let bytes = 0;
  const flush = (): void => { writeSync(fd, buf, 0, p); bytes += p; p = 0; };
  prologue.copy(buf, 0);
  p = prologue.length;
  const counts = new Map<string, number>();
  let withStrings = 0;
  let n = 0;
  let ts = ts0;
  const plans = new Map<string, { id: number; strings: boolean[] }>();
  const u64 = (v: number): void => {
    buf.writeUInt32LE(v >>> 0, p);
    buf.writeUInt32LE(Math.floor(v / 4294967296) >>> 0, p + 4);
    p += 8;
  };
  const ev = (name: string, ...values: Value[]): void => {
    let plan = plans.get(name);
    if (!plan) {
      const id = ids.get(name);
      const decl = cat.get(name)?.decl;
      if (id === undefined || !decl) throw new Error(`${name} is not an event of QEMU 10.2.50`);
      plan = { id, strings: decl.args.map((a) => isStringType(a.type)) };
      if (plan.strings.length !== values.length) throw new Error(`${name} takes ${plan.strings.length} arguments`);
      plans.set(name, plan);
    }
    if (p > buf.length - 4096) flush();
    ts += 200 + Math.floor(rnd() * 1800);
    const start = p;
    u64(1); u64(plan.id); u64(ts);
    const lenAt = p;
    p += 4;
    buf.writeUInt32LE(pid, p);
    p += 4;
    let str = false;
    for (let k = 0; k < values.length; k++) {
      const v = values[k]!;
      if (plan.strings[k]) {
        const s = String(v);
        buf.writeUInt32LE(s.length, p);
        p += 4 + buf.write(s, p + 4, 'latin1');
        str = true;
      } else if (typeof v === 'number' && v < 0) {
        // Signed arguments are stored sign-extended to 64 bits.
        buf.writeBigInt64LE(BigInt(v), p);
        p += 8;
      } else u64(Number(v));
    }
    buf.writeUInt32LE(p - start - 8, lenAt);
    counts.set(name, (counts.get(name) ?? 0) + 1);
    if (str) withStrings++;
    n++;
  };
  const gap = (ns: number): void => { ts += ns; };

  // Incoming connection and the precopy phase's commands.
  ev('migration_socket_incoming_accepted');
  ev('migration_set_incoming_channel', 0x561269c99400, 'qio-channel-socket');
  ev('migrate_set_state', 'active');
  ev('loadvm_state_setup');
  ev('loadvm_state_switchover_ack_needed', 0);
  ev('ram_load_start');
  ev('loadvm_process_command', 'OPEN_RETURN_PATH', 0);
  ev('loadvm_process_command', 'PING', 4);
  ev('loadvm_process_command_ping', 1);
  ev('migrate_send_rp_message', RP_PONG, 4);
  ev('loadvm_process_command', 'POSTCOPY_ADVISE', 16);
  ev('loadvm_postcopy_handle_advise');
  for (const [name, host, size] of BLOCKS) ev('postcopy_init_range', name, host, 0, size);
  ev('migration_socket_incoming_accepted');
  ev('migration_set_incoming_channel', 0x561269c32400, 'qio-channel-socket');
  ev('postcopy_preempt_new_channel');
  ev('qemu_file_get_fd', 'migration-socket-incoming', 23);

  // Precopy: the first pass over RAM, page by page; a quarter of the guest's pages are zero.
  const precopyPages = Math.floor(total * 0.1);
  let offset = 0;
  for (let i = 0; i < precopyPages; i++) {
    const small = i % 5000 === 4999;
    const [name, host] = small ? BLOCKS[1 + Math.floor(rnd() * (BLOCKS.length - 1))]! : BLOCKS[0]!;
    const off = small ? Math.floor(rnd() * 16) * PAGE : offset;
    const flags = (small || i % 16 === 0 ? 0 : F_CONTINUE) | (i % 16 >= 12 ? F_ZERO : F_PAGE);
    ev('ram_load_loop', name, off, flags, host + off);
    if (!small) offset += PAGE;
    if (i % 20000 === 19999) {
      ev('loadvm_process_command', 'PING', 4);
      ev('loadvm_process_command_ping', 2 + i);
      ev('migrate_send_rp_message', RP_PONG, 4);
    }
  }

  // Switch to postcopy: the source's discard list, then listen and run.
  ev('loadvm_process_command', 'PACKAGED', 4);
  ev('loadvm_handle_cmd_packaged', 1 << 20);
  ev('loadvm_handle_cmd_packaged_received', 0);
  const discards = Math.floor(total * 0.012);
  for (let d = 0; d < discards; d++) {
    if (d % 120 === 0) {
      ev('loadvm_process_command', 'POSTCOPY_RAM_DISCARD', 1016);
      ev('loadvm_postcopy_ram_handle_discard');
      ev('loadvm_postcopy_ram_handle_discard_header', 'pc.ram', 120);
    }
    ev('ram_discard_range', 'pc.ram', Math.floor(rnd() * (1 << 20)) * PAGE, PAGE * (1 + Math.floor(rnd() * 16)));
    if (d % 120 === 119) ev('loadvm_postcopy_ram_handle_discard_end');
  }
  for (const [name, host, size] of BLOCKS) ev('postcopy_nhp_range', name, host, 0, size);
  ev('loadvm_process_command', 'POSTCOPY_LISTEN', 0);
  ev('loadvm_postcopy_handle_listen', 'enter');
  ev('postcopy_ram_enable_notify');
  ev('postcopy_ram_fault_thread_entry');
  ev('postcopy_ram_fault_thread_fds_core', 18, 19);
  ev('postcopy_blocktime_tid_cpu_map', 0, pid + 7);
  ev('postcopy_blocktime_tid_cpu_map', 1, pid + 8);
  ev('loadvm_postcopy_handle_listen', 'after discard');
  ev('postcopy_ram_listen_thread_start');
  ev('loadvm_postcopy_handle_listen', 'return');
  ev('postcopy_preempt_thread_entry');
  ev('loadvm_process_command', 'POSTCOPY_RUN', 0);
  ev('loadvm_postcopy_handle_run');
  ev('migrate_global_state_post_load', 'running');
  ev('migration_block_activation', 'postcopy run');
  ev('loadvm_handle_cmd_packaged_main', 0);
  ev('migrate_set_state', 'postcopy-active');

  /** The migration channel breaks once and postcopy is recovered on a new one. */
  const recovery = (): void => {
    ev('qemu_file_fclose');
    ev('postcopy_pause_incoming');
    ev('postcopy_pause_fault_thread');
    ev('postcopy_pause_fast_load');
    gap(900_000_000);
    ev('migration_socket_incoming_accepted');
    ev('migration_set_incoming_channel', 0x561269d01000, 'qio-channel-socket');
    ev('qemu_file_get_fd', 'migration-socket-incoming', 27);
    ev('postcopy_pause_incoming_continued');
    ev('loadvm_process_command', 'RECV_BITMAP', 7);
    ev('loadvm_handle_recv_bitmap', 'pc.ram');
    ev('ram_dirty_bitmap_request', 'pc.ram');
    ev('migrate_send_rp_recv_bitmap', 'pc.ram', 0x20008);
    ev('loadvm_process_command', 'RESUME', 0);
    ev('loadvm_postcopy_handle_resume');
    ev('postcopy_pause_fast_load_continued');
    ev('postcopy_pause_fault_thread_continued');
  };

  // Postcopy: the rest of RAM page by page, with the guest's page faults requested out of order.
  const faults: number[] = [];
  let pages = 0;
  while (n < total - 40) {
    const host = BLOCKS[0]![1];
    const off = (offset + pages * PAGE) % BLOCKS[0]![2];
    const zero = pages % 16 >= 12;
    const chan = pages % 9 === 8 ? 1 : 0;
    ev('ram_load_postcopy_loop', chan, off, (zero ? F_ZERO : F_PAGE) | (pages % 64 === 0 ? 0 : F_CONTINUE));
    ev(zero ? 'postcopy_place_page_zero' : 'postcopy_place_page', host + off);
    pages++;
    if (rnd() < 1 / 30) {
      // A vCPU touches a page not there yet: requested from the source on the return path.
      const want = Math.floor(rnd() * (BLOCKS[0]![2] / PAGE)) * PAGE;
      const cpu = rnd() < 0.5 ? 0 : 1;
      ev('postcopy_ram_fault_thread_request', host + want, 'pc.ram', want, pid + 7 + cpu);
      ev('postcopy_blocktime_begin', host + want, Math.floor((ts - ts0) / 1e6), cpu, 0);
      ev('postcopy_page_req_add', host + want, faults.length + 1);
      ev('migrate_send_rp_message', faults.length === 0 ? RP_REQ_PAGES_ID : RP_REQ_PAGES, faults.length === 0 ? 26 : 12);
      faults.push(want);
    }
    if (faults.length > 0 && rnd() < 1 / 32) {
      const want = faults.shift()!;
      ev('ram_load_postcopy_loop', 1, want, F_PAGE);
      ev('postcopy_place_page', host + want);
      ev('postcopy_page_req_del', host + want, faults.length);
      ev('postcopy_blocktime_end', host + want, Math.floor((ts - ts0) / 1e6), 1, 0);
      ev('postcopy_blocktime_end_one', rnd() < 0.5 ? 0 : 1, 0);
      if (rnd() < 0.05) ev('postcopy_page_req_sync', host + want);
    }
    if (pages % 50000 === 0) gap(2_000_000);
    if (pages === 200_000) recovery();
  }

  // The end: threads joined, ranges cleaned up, channels closed.
  ev('ram_load_complete', 0, 3);
  ev('postcopy_ram_incoming_cleanup_entry');
  ev('postcopy_ram_fault_thread_quit');
  ev('postcopy_ram_fault_thread_exit');
  ev('postcopy_ram_incoming_cleanup_join');
  ev('postcopy_ram_incoming_cleanup_blocktime', 603);
  for (const [name, h, size] of BLOCKS) ev('postcopy_cleanup_range', name, h, 0, size);
  ev('postcopy_ram_incoming_cleanup_closeuf');
  ev('postcopy_ram_incoming_cleanup_exit');
  ev('postcopy_preempt_thread_exit');
  ev('postcopy_ram_listen_thread_exit');
  ev('migrate_set_state', 'completed');
  ev('loadvm_state_cleanup');
  ev('qemu_file_fclose');
  ev('qemu_file_fclose');
  flush();
  closeSync(fd);
  return { events: n, bytes, counts: [...counts].sort((a, b) => b[1] - a[1]), withStrings };
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const i = args.indexOf('--events');
  const events = i >= 0 ? Number(args[i + 1]) : undefined;
  const out = args.find((a, k) => !a.startsWith('--') && (i < 0 || k !== i + 1)) ?? join(__dirname, '.data', 'postcopy-mix.simple');
  const r = generateSimpletraceMix(out, events);
  console.log(`${out}: ${r.events} events of ${r.counts.length} kinds (${r.withStrings} with string arguments), ${r.bytes} bytes`);
  for (const [name, c] of r.counts) console.log(`${String(c).padStart(9)} ${name}`);
}
