/** Exports of what the view shows: the focused range's events as CSV, the panels as one PNG. */
import type { MigrationModel } from '../../core/analysis/model';
import { lowerBound } from '../../core/analysis/prefix';

/** One CSV field; text a spreadsheet would run as a formula is prefixed with '. */
export function csvField(v: string): string {
  const safe = /^[=+\-@\t\r]/.test(v) && !/^-?\d/.test(v) ? `'${v}` : v;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function csvOf(model: MigrationModel, packetRows: readonly string[][], focus: readonly [number, number]): string {
  const out = ['kind,side,channel_or_ramblock,packet_num_or_offset,t_ns,normal_pages_or_latency_ns,zero_pages,bytes,line'];
  for (const r of packetRows) out.push(['packet', r[0]!, r[1]!, r[2]!, r[3]!, r[4]!, r[5]!, r[6]!, r[7]!].map(csvField).join(','));
  const pc = model.postcopy;
  if (pc) {
    const f = pc.faults;
    for (let i = lowerBound(f.t, focus[0]), e = lowerBound(f.t, focus[1]); i < e; i++) {
      out.push(['fault', 'dst', pc.ramBlocks[f.rb[i]!] ?? '', `0x${f.offset[i]!.toString(16)}`, String(f.t[i]), Number.isFinite(f.latencyNs[i]!) ? String(f.latencyNs[i]) : '', '', '', String(f.line[i])].map(csvField).join(','));
    }
  }
  return out.join('\n') + '\n';
}

/** Stacks the canvases (each at its device-pixel size) on the theme background into one PNG. */
export async function pngOf(canvases: readonly HTMLCanvasElement[], background: string): Promise<Uint8Array> {
  const shown = canvases.filter((c) => c.width > 0 && c.height > 0 && c.isConnected && c.offsetParent !== null);
  const gap = 8;
  const w = Math.max(1, ...shown.map((c) => c.width));
  const h = Math.max(1, shown.reduce((n, c) => n + c.height + gap, 0));
  const out = document.createElement('canvas');
  out.width = w; out.height = h;
  const ctx = out.getContext('2d');
  if (!ctx) throw new Error('no 2D canvas context');
  ctx.fillStyle = background;
  ctx.fillRect(0, 0, w, h);
  let y = 0;
  for (const c of shown) { ctx.drawImage(c, 0, y); y += c.height + gap; }
  const blob = await new Promise<Blob | null>((resolve) => out.toBlob(resolve, 'image/png'));
  if (!blob) throw new Error('the canvas could not be encoded as PNG');
  return new Uint8Array(await blob.arrayBuffer());
}
