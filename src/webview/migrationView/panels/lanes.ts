/**
 * Multifd lanes: one row per channel and side, packets as marks coloured by their share
 * of zero pages, sync rounds as markers. Each frame aggregates per pixel through the
 * side index (binary search + block prefix sums), so its cost is per pixel, not per packet.
 */
import type { MultifdSide, SyncRound } from '../../../core/analysis/model';
import { emptyBuckets, type SideIndex } from '../../../core/analysis/sideIndex';
import { formatBytes, formatDuration, formatTimeAt, timeScale } from '../../../core/units';
import { LABEL_W, type PanelRenderer } from '../timeCanvas';
import type { Palette } from '../theme';
import { axisTime, tickStep } from '../timeAxis';
import { plotWindow, type ViewData } from '../viewData';

const LANE_H = 22;
const GAP = 6;
const AXIS_H = 20;
const HEIGHT_STEPS = 8;

interface Lane { side: MultifdSide; index: SideIndex; k: number; y: number }

export class LanesPanel implements PanelRenderer {
  private readonly lanes: Lane[] = [];

  constructor(private readonly data: ViewData) {
    let y = AXIS_H;
    for (const ix of [data.index.send, data.index.recv]) {
      if (!ix) continue;
      ix.side.channels.forEach((_, k) => { this.lanes.push({ side: ix.side, index: ix, k, y }); y += LANE_H; });
      y += GAP;
    }
  }

  get laneCount(): number { return this.lanes.length; }

  height(): number {
    return this.lanes.length ? this.lanes[this.lanes.length - 1]!.y + LANE_H + GAP : AXIS_H;
  }

  draw(ctx: CanvasRenderingContext2D, w: number, _h: number, pal: Palette): void {
    const { t0, t1, pw } = plotWindow(this.data, w, LABEL_W);
    drawTimeRuler(ctx, this.data, w, AXIS_H, pal);
    this.lanes.forEach((lane) => {
      const b = lane.index.buckets(lane.k, t0, t1, pw, emptyBuckets(pw));
      ctx.fillStyle = pal.fg;
      ctx.textBaseline = 'middle';
      ctx.fillText(`${lane.side.side === 'src' ? 'send' : 'recv'} ch ${lane.side.channels[lane.k]}`, 6, lane.y + LANE_H / 2);
      ctx.strokeStyle = pal.grid;
      ctx.beginPath(); ctx.moveTo(LABEL_W, lane.y + LANE_H - 0.5); ctx.lineTo(w, lane.y + LANE_H - 0.5); ctx.stroke();
      let max = 1;
      for (let j = 0; j < pw; j++) if (b.count[j]! > max) max = b.count[j]!;
      const knowsZero = lane.side.knows.zeroPages;
      // One path per colour, and runs of equal colour and height as one rectangle: a dense
      // lane is a few runs, not a rectangle per pixel. Heights come in HEIGHT_STEPS steps.
      const paths = new Map<string, Path2D>();
      let runStart = -1, runColour = '', runStep = -1;
      const flush = (end: number): void => {
        if (runStart < 0) return;
        let path = paths.get(runColour);
        if (!path) { path = new Path2D(); paths.set(runColour, path); }
        const hh = (LANE_H - 4) * (0.35 + (0.65 * runStep) / HEIGHT_STEPS);
        path.rect(LABEL_W + runStart, lane.y + (LANE_H - hh) / 2, Math.max(end - runStart, max === 1 ? 2 : 1), hh);
        runStart = -1;
      };
      for (let j = 0; j < pw; j++) {
        const c = b.count[j]!;
        if (c === 0) { flush(j); continue; }
        const pages = b.normal[j]! + b.zero[j]!;
        const colour = !knowsZero ? (lane.side.knows.normalPages ? pal.normal : pal.unknown) : pages === 0 ? pal.muted : pal.zeroShare[Math.round((10 * b.zero[j]!) / pages)]!;
        const step = Math.round(HEIGHT_STEPS * Math.sqrt(c / max));
        if (runStart >= 0 && (colour !== runColour || step !== runStep)) flush(j);
        if (runStart < 0) { runStart = j; runColour = colour; runStep = step; }
      }
      flush(pw);
      for (const [colour, path] of paths) { ctx.fillStyle = colour; ctx.fill(path); }
    });
    this.drawSyncs(ctx, w, pal);
    this.drawThreads(ctx, w, pal);
  }

  /** Channel threads' start and end (*_thread_start / *_thread_end) as brackets at the lane ends. */
  private drawThreads(ctx: CanvasRenderingContext2D, w: number, pal: Palette): void {
    const pw = w - LABEL_W;
    ctx.strokeStyle = pal.muted;
    for (const lane of this.lanes) {
      const th = lane.side.threads.find((x) => x.channel === lane.side.channels[lane.k]);
      if (!th) continue;
      for (const [t, dir] of [[th.startNs, 1], [th.endNs, -1]] as const) {
        if (t === null) continue;
        const x = Math.round(LABEL_W + this.data.axis.xAt(t, pw)) + 0.5;
        if (x < LABEL_W || x > w) continue;
        ctx.beginPath();
        ctx.moveTo(x + 3 * dir, lane.y + 2); ctx.lineTo(x, lane.y + 2); ctx.lineTo(x, lane.y + LANE_H - 3); ctx.lineTo(x + 3 * dir, lane.y + LANE_H - 3);
        ctx.stroke();
      }
    }
  }

  private drawSyncs(ctx: CanvasRenderingContext2D, w: number, pal: Palette): void {
    const pw = w - LABEL_W;
    ctx.strokeStyle = pal.sync;
    ctx.fillStyle = pal.sync;
    for (const ix of [this.data.index.send, this.data.index.recv]) {
      if (!ix) continue;
      const lanes = this.lanes.filter((l) => l.side === ix.side);
      if (!lanes.length) continue;
      const top = lanes[0]!.y, bottom = lanes[lanes.length - 1]!.y + LANE_H;
      for (const r of ix.side.syncs) {
        const x = LABEL_W + this.data.axis.xAt(r.t, pw);
        if (x < LABEL_W || x > w) continue;
        ctx.globalAlpha = 0.6;
        ctx.beginPath(); ctx.moveTo(Math.round(x) + 0.5, top); ctx.lineTo(Math.round(x) + 0.5, bottom); ctx.stroke();
        ctx.globalAlpha = 1;
        ctx.beginPath(); ctx.moveTo(x - 3, top); ctx.lineTo(x + 3, top); ctx.lineTo(x, top + 4); ctx.fill();
      }
    }
  }

  /** Packet under (x, y), within two pixels: the first of that pixel's packets and how many it holds. */
  private hit(x: number, y: number, w: number): { lane: Lane; i: number; count: number } | null {
    const lane = this.lanes.find((l) => y >= l.y && y < l.y + LANE_H);
    if (!lane || x < LABEL_W) return null;
    const pw = w - LABEL_W;
    const j0 = Math.floor(x - LABEL_W);
    for (const j of [j0, j0 - 1, j0 + 1, j0 - 2, j0 + 2]) {
      const [a, b] = lane.index.laneRange(lane.k, this.data.axis.tAt(j, pw), this.data.axis.tAt(j + 1, pw));
      if (b > a) return { lane, i: a, count: b - a };
    }
    return null;
  }

  /** The sync round whose marker is within 3 pixels of x on the side of lane row y. */
  private syncAt(x: number, y: number, w: number): { round: SyncRound; side: MultifdSide } | null {
    const lane = this.lanes.find((l) => y >= l.y - 4 && y < l.y + LANE_H);
    if (!lane || x < LABEL_W) return null;
    const pw = w - LABEL_W;
    for (const round of lane.side.syncs) if (Math.abs(LABEL_W + this.data.axis.xAt(round.t, pw) - x) <= 3) return { round, side: lane.side };
    return null;
  }

  hover(x: number, y: number, w: number): string | null {
    const pw = w - LABEL_W;
    const sync = this.syncAt(x, y, w);
    if (sync) return [...syncRoundText(sync.round, sync.side, (t) => axisTime(this.data.axis, t, pw)), `click opens line ${sync.round.line}`].join('\n');
    const h = this.hit(x, y, w);
    if (!h) return null;
    const s = h.lane.side, p = s.packets, i = h.i;
    const transit = s.side === 'src' ? this.data.index.transit?.transitNs[i] : undefined;
    const lines = [
      `${s.side === 'src' ? 'send' : 'recv'} channel ${s.channels[h.lane.k]} · packet ${p.packetNum[i]} at ${axisTime(this.data.axis, p.t[i]!, pw)}`,
      `normal pages ${s.knows.normalPages ? p.normal[i] : 'n/a'} · zero pages ${s.knows.zeroPages ? p.zero[i] : 'n/a'} · payload ${formatBytes(p.bytes[i]!)}`,
      `flags ${multifdFlagsText(p.flags[i]!)}`,
      ...(transit !== undefined && Number.isFinite(transit) ? [`transit to the destination ${formatDuration(transit)}`] : []),
      h.count > 1 ? `${h.count} packets in this pixel; click opens the first (line ${p.line[i]})` : `click opens line ${p.line[i]}`,
    ];
    return lines.join('\n');
  }

  click(x: number, y: number, w: number): void {
    const sync = this.syncAt(x, y, w);
    if (sync) { this.data.openLine(sync.side.side, sync.round.line); return; }
    const h = this.hit(x, y, w);
    if (h) this.data.openLine(h.lane.side.side, h.lane.side.packets.line[h.i]!);
  }

  /** Rows of the visible packets (for CSV export). */
  visibleRows(): string[][] {
    const [t0, t1] = this.data.axis.focus;
    const rows: string[][] = [];
    for (const l of this.lanes) {
      const [a, b] = l.index.laneRange(l.k, t0, t1);
      const p = l.side.packets;
      for (let i = a; i < b && rows.length < 1_000_000; i++) {
        rows.push([l.side.side, String(l.side.channels[l.k]), String(p.packetNum[i]), String(p.t[i]), l.side.knows.normalPages ? String(p.normal[i]) : '', l.side.knows.zeroPages ? String(p.zero[i]) : '', String(p.bytes[i]), String(p.line[i])]);
      }
    }
    return rows;
  }
}

/**
 * Tick labels of the visible window along the top of a panel, in one unit with the decimals
 * the step needs. A label is centred on its tick, moved inside where it would run past the
 * plot's edges; a label that would overlap the one before is left out.
 */
export function drawTimeRuler(ctx: CanvasRenderingContext2D, data: ViewData, w: number, h: number, pal: Palette): void {
  const [t0, t1] = data.axis.visible;
  const pw = w - LABEL_W;
  const step = tickStep(t1 - t0, Math.max(2, Math.floor(pw / 110)));
  const scale = timeScale(t1 - t0, step);
  ctx.fillStyle = pal.muted;
  ctx.strokeStyle = pal.grid;
  ctx.textBaseline = 'middle';
  let prevEnd = -Infinity;
  for (let k = Math.ceil(t0 / step); k * step <= t1; k++) {
    const t = k * step;
    const x = LABEL_W + data.axis.xAt(t, pw);
    ctx.beginPath(); ctx.moveTo(Math.round(x) + 0.5, h - 5); ctx.lineTo(Math.round(x) + 0.5, h); ctx.stroke();
    const text = formatTimeAt(t, scale);
    const tw = ctx.measureText(text).width;
    const lx = Math.max(LABEL_W + 2, Math.min(x - tw / 2, w - 2 - tw));
    if (lx < prevEnd + 8) continue;
    ctx.fillText(text, lx, h / 2 - 1);
    prevEnd = lx + tw;
  }
}

/** QEMU's MULTIFD_FLAG_* bits (migration/multifd.h; the same values from 7.x to 10.x). */
const COMPRESSION: Record<number, string> = { 1: 'zlib', 2: 'zstd', 4: 'qpl', 8: 'uadk', 16: 'qatzip' };

/** A packet's flags as QEMU defines them: "0x1: sync (MULTIFD_FLAG_SYNC, …)". */
export function multifdFlagsText(flags: number): string {
  const parts: string[] = [];
  if (flags & 0x1) parts.push('sync (MULTIFD_FLAG_SYNC: this channel\'s packet of a multifd sync round)');
  const comp = (flags >> 1) & 0x1f;
  if (comp) parts.push(`compression ${COMPRESSION[comp] ?? `method ${comp}`}`);
  if (flags & 0x40) parts.push('device state (MULTIFD_FLAG_DEVICE_STATE)');
  const rest = flags & ~0x7f;
  if (rest) parts.push(`unknown bits 0x${rest.toString(16)}`);
  return `0x${flags.toString(16)}${parts.length ? `: ${parts.join(', ')}` : ' (a page packet, not compressed)'}`;
}

/**
 * A sync round step by step, in the order the main thread takes them. The source signals
 * each channel to send its sync packet, then waits for each to have sent it; the
 * destination waits until every channel has received its sync packet (one semaphore: the
 * n-th wait ends when any channel arrives), then signals each to go on.
 */
export function syncRoundText(round: SyncRound, side: MultifdSide, at: (t: number) => string): string[] {
  const dir = side.side === 'src' ? 'send' : 'recv';
  const lines = [`sync round at ${at(round.t)} (multifd_${dir}_sync_main, packet num ${round.packetNum}), ${formatDuration(round.t - round.startNs)} from its first step`];
  const steps: { kind: 'signal' | 'wait'; waits: SyncRound['waits'][number][] }[] = [];
  for (const w of round.waits) {
    const last = steps[steps.length - 1];
    if (last?.kind === w.kind) last.waits.push(w); else steps.push({ kind: w.kind, waits: [w] });
  }
  const what = {
    src: { signal: 'asks each channel for its sync packet (flag 0x1)', wait: 'waits for each channel to have sent it' },
    dst: { signal: 'lets each channel go on', wait: 'waits until every channel has received its sync packet' },
  }[side.side];
  steps.forEach((st, n) => {
    const end = steps[n + 1]?.waits[0]?.t ?? round.t;
    const channels = st.waits.map((w) => w.channel).join(', ');
    lines.push(`${n + 1}. ${st.kind} (multifd_${dir}_sync_main_${st.kind}): the main thread ${what[st.kind]}, ${formatDuration(end - st.waits[0]!.t)}`);
    if (side.side === 'src' && st.kind === 'wait') lines.push(`   ${st.waits.map((w) => `channel ${w.channel}: ${formatDuration(w.waitNs)}`).join(' · ')}`);
    else lines.push(`   ${side.side === 'dst' && st.kind === 'wait' ? `${st.waits.length} waits` : `channels ${channels}`}`);
  });
  return lines;
}
