/** Independent counts from raw trace lines (regular expressions, not the decoder) for the analysis tests. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

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
