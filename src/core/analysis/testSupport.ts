/** Independent counts from raw trace lines (regular expressions, not the decoder) for the analysis tests. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { downtimeSummary } from './downtime';
import { loadMigration } from './load';

export { recordings } from '../trace/testSupport';
export const labRecordings = resolve(__dirname, '..', '..', '..', 'demo', 'recordings');

/** Text of a trace file; .xz through the xz program (argument array, no shell). */
export function rawText(path: string): string {
  return path.endsWith('.xz') ? execFileSync('xz', ['-dc', path], { maxBuffer: 1 << 30 }).toString('utf8') : readFileSync(path, 'utf8');
}

export interface RawChannel { packets: number; pages: number; zero: number; bytes: number }

/**
 * Per-channel sums over the lines of one event whose text matches re; re captures
 * (channel, pages?, zero?, bytes?) in named groups ch, pages, zero, bytes.
 */
export function rawPerChannel(text: string, re: RegExp): Map<number, RawChannel> {
  const out = new Map<number, RawChannel>();
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (!m?.groups) continue;
    const ch = Number(m.groups.ch);
    const c = out.get(ch) ?? { packets: 0, pages: 0, zero: 0, bytes: 0 };
    c.packets++;
    c.pages += Number(m.groups.pages ?? 0);
    c.zero += Number(m.groups.zero ?? 0);
    c.bytes += Number(m.groups.bytes ?? 0);
    out.set(ch, c);
  }
  return out;
}

export function rawCount(text: string, re: RegExp): number {
  let n = 0;
  for (const line of text.split('\n')) if (re.test(line)) n++;
  return n;
}

export function labRecording(name: string): string {
  return join(labRecordings, name);
}

export interface RawDowntimeDevice { type: string; idstr: string; instanceId: number; us: number; tNs: bigint; line: number }
export interface RawDowntimeCheckpoint { name: string; tNs: bigint; line: number }

/**
 * Every vmstate_downtime_save (or _load) and vmstate_downtime_checkpoint line of a log-backend
 * trace with `tid@sec.usec:` prefixes, in file order, with absolute times in ns and 1-based lines.
 */
export function rawDowntime(text: string, event: 'save' | 'load'): { devices: RawDowntimeDevice[]; checkpoints: RawDowntimeCheckpoint[] } {
  const devices: RawDowntimeDevice[] = [], checkpoints: RawDowntimeCheckpoint[] = [];
  const ns = (sec: string, usec: string): bigint => BigInt(sec) * 1_000_000_000n + BigInt(usec) * 1000n;
  const dev = new RegExp(`^\\d+@(\\d+)\\.(\\d{6}):vmstate_downtime_${event} type=(\\S+) idstr=(\\S+) instance_id=(\\d+) downtime=(-?\\d+)$`);
  text.split('\n').forEach((line, i) => {
    const d = dev.exec(line);
    if (d) devices.push({ tNs: ns(d[1]!, d[2]!), type: d[3]!, idstr: d[4]!, instanceId: Number(d[5]), us: Number(d[6]), line: i + 1 });
    const c = /^\d+@(\d+)\.(\d{6}):vmstate_downtime_checkpoint (\S+)$/.exec(line);
    if (c) checkpoints.push({ tNs: ns(c[1]!, c[2]!), name: c[3]!, line: i + 1 });
  });
  return { devices, checkpoints };
}

/** A recording's downtime waterfall, side by side, against its raw lines: devices, sums, bar times, checkpoints. */
export async function assertWaterfallEqualsRaw(dir: string, qemuVersion: string): Promise<void> {
  const { model } = await loadMigration([dir], { inProcess: true });
  const s = downtimeSummary(model.downtime);
  const origin = BigInt(model.originNs);
  for (const [side, file, event] of [[s.source, 'src-trace.log', 'save'], [s.destination, 'dst-trace.log', 'load']] as const) {
    const raw = rawDowntime(readFileSync(join(dir, file), 'utf8'), event);
    assert.ok(raw.devices.length > 10, `${file} has device lines`);
    assert.ok(side, `${file} is loaded`);
    assert.equal(side.status, 'traced');
    assert.equal(side.qemuVersion, qemuVersion, 'the version comes from the QMP greeting');
    // The waterfall orders by start; the file by end. Same devices, same figures.
    const byLine = [...side.devices].sort((a, b) => a.line - b.line);
    assert.deepEqual(byLine.map((x) => ({ type: x.type, idstr: x.idstr, instanceId: x.instanceId, us: x.us })), raw.devices.map(({ type, idstr, instanceId, us }) => ({ type, idstr, instanceId, us })));
    assert.deepEqual(byLine.map((x) => x.endNs), raw.devices.map((x) => Number(x.tNs - origin)), 'each bar ends at its line\'s time');
    for (const x of side.devices) assert.equal(x.endNs - x.startNs, x.us * 1000, 'a bar is as long as the downtime QEMU traced');
    for (let i = 1; i < side.devices.length; i++) assert.ok(side.devices[i]!.startNs >= side.devices[i - 1]!.startNs, 'bars are sorted by time');
    assert.equal(side.totalUs, raw.devices.reduce((n, x) => n + x.us, 0));
    assert.equal(side.iterableUs, raw.devices.filter((x) => x.type === 'iterable').reduce((n, x) => n + x.us, 0));
    assert.deepEqual(side.checkpoints.map((c) => [c.name, c.t]), raw.checkpoints.map((c) => [c.name, Number(c.tNs - origin)]));
  }
  const src = rawDowntime(readFileSync(join(dir, 'src-trace.log'), 'utf8'), 'save');
  assert.deepEqual(src.checkpoints.map((c) => c.name), ['src-downtime-start', 'src-vm-stopped', 'src-iterable-saved', 'src-non-iterable-saved', 'src-downtime-end']);
  assert.deepEqual(s.source!.phases.map((p) => p.to), ['src-vm-stopped', 'src-iterable-saved', 'src-non-iterable-saved', 'src-downtime-end']);
  const dst = rawDowntime(readFileSync(join(dir, 'dst-trace.log'), 'utf8'), 'load');
  assert.ok(dst.checkpoints.some((c) => c.name === 'dst-precopy-bh-vm-started'));
  // Save beside load: one row per device of either side, the sums unchanged.
  assert.equal(s.pairs.reduce((n, p) => n + (p.saveUs ?? 0), 0), s.source!.totalUs);
  assert.equal(s.pairs.reduce((n, p) => n + (p.loadUs ?? 0), 0), s.destination!.totalUs);
  const ram = s.pairs.find((p) => p.idstr === 'ram' && p.type === 'iterable')!;
  assert.equal(ram.saveUs, src.devices.find((x) => x.idstr === 'ram' && x.type === 'iterable')!.us);
  assert.equal(ram.loadUs, dst.devices.find((x) => x.idstr === 'ram' && x.type === 'iterable')!.us);
}

/** The source's window and device total against the downtime in final-query-migrate-src.json. */
export async function assertDowntimeAgainstQueryMigrate(dir: string): Promise<void> {
  const { model } = await loadMigration([dir], { inProcess: true });
  const s = downtimeSummary(model.downtime);
  const reported = (JSON.parse(readFileSync(join(dir, 'final-query-migrate-src.json'), 'utf8')) as { downtime: number }).downtime;
  assert.deepEqual(s.reported, { ms: reported, from: 'final-query-migrate-src.json' });
  const w = s.source!.window!;
  assert.equal(w.from, 'src-downtime-start');
  assert.equal(w.to, 'src-downtime-end');
  const raw = rawDowntime(readFileSync(join(dir, 'src-trace.log'), 'utf8'), 'save').checkpoints;
  const span = raw.find((c) => c.name === 'src-downtime-end')!.tNs - raw.find((c) => c.name === 'src-downtime-start')!.tNs;
  assert.equal(w.us, Number(span) / 1000);
  // QEMU's downtime is the same window read off a millisecond clock (two truncated
  // readings), so it is within a millisecond of the checkpoints' span...
  assert.ok(Math.abs(w.us / 1000 - reported) < 1, `window ${w.us} µs against query-migrate ${reported} ms`);
  // ...and the device saves are only part of it: the rest is stopping the VM, syncing the
  // CPUs, the vmstate description and flushing the stream, outside any save handler.
  assert.ok(s.source!.totalUs! < w.us, `device saves ${s.source!.totalUs} µs inside the ${w.us} µs window`);
  assert.ok(s.stopToStartUs !== null && s.stopToStartUs > 0, 'both traces are on one host clock');
}
