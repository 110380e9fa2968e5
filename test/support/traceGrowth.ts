/**
 * Real trace lines, copied again and again with fresh timestamps: how the follow tests and
 * benchmarks grow a trace by megabytes (and build big ones) from a real recording. Each copy
 * keeps the recording's own spacing between lines and comes a whole number of seconds after
 * the one before (or at the wall clock, for a trace being written now), so only the seconds
 * of each timestamp change: a copy is the recording's bytes with those digits rewritten,
 * which is fast enough to write tens of megabytes a second.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const TID_PREFIX = /^(\d+@)(\d+)(\.\d{6}:.*)$/;
const ISO_PREFIX = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{6}Z .*)$/;

/** Text of a trace file; .xz through the xz program (argument array, no shell). */
export function traceText(path: string): string {
  return path.endsWith('.xz') ? execFileSync('xz', ['-dc', '--', path], { maxBuffer: 1 << 30 }).toString('utf8') : readFileSync(path, 'utf8');
}

export class RealTraceLines {
  /** One copy, timestamps' seconds included as in the recording. */
  private readonly template: Buffer;
  /** Where each line's seconds are in the template, and which second (from the first line's) it is. */
  private readonly at: Uint32Array;
  private readonly second: Uint32Array;
  private readonly iso: boolean;
  private readonly firstSec: number;
  /** Whole seconds from one copy to the next. */
  private readonly stepSec: number;
  /** Seconds to add to the recording's for the next copy. */
  private shift = 0;
  readonly bytesPerCopy: number;
  readonly linesPerCopy: number;
  /** Lines per copy whose text matches, by label (e.g. events of a kind), for expected counts. */
  readonly perCopy: ReadonlyMap<string, number>;

  /**
   * text: a log-backend trace with `tid@sec.usec:` or ISO-8601 prefixes; lines without a
   * timestamp are left out, and those matching exclude (say, the threads' start and end, for
   * a migration that goes on). count: labels and patterns counted per copy.
   */
  constructor(text: string, count: Readonly<Record<string, RegExp>> = {}, exclude?: RegExp) {
    const counts = new Map<string, number>(Object.keys(count).map((k) => [k, 0]));
    const parts: string[] = [];
    const at: number[] = [], secs: number[] = [];
    let iso: boolean | undefined;
    let bytes = 0;
    for (const raw of text.split('\n')) {
      if (exclude?.test(raw)) continue;
      const t = TID_PREFIX.exec(raw), i = t ? null : ISO_PREFIX.exec(raw);
      if (!t && !i) continue;
      const lineIso = i !== null;
      if (iso !== undefined && iso !== lineIso) continue;
      iso = lineIso;
      const before = t ? t[1]! : '';
      const secText = t ? t[2]! : i![1]!;
      const after = t ? t[3]! : i![2]!;
      const sec = lineIso ? Date.parse(`${secText}Z`) / 1000 : Number(secText);
      at.push(bytes + Buffer.byteLength(before));
      secs.push(sec);
      const line = `${before}${secText}${after}\n`;
      parts.push(line);
      bytes += Buffer.byteLength(line);
      for (const [label, re] of Object.entries(count)) if (re.test(raw)) counts.set(label, counts.get(label)! + 1);
    }
    if (!parts.length) throw new Error('no timestamped trace lines in the text');
    this.iso = iso!;
    this.template = Buffer.from(parts.join(''));
    this.firstSec = secs[0]!;
    this.at = Uint32Array.from(at);
    this.second = Uint32Array.from(secs, (s) => s - this.firstSec);
    this.stepSec = this.second[this.second.length - 1]! + 1;
    this.shift = Math.floor(Date.now() / 1000) - this.firstSec;
    this.bytesPerCopy = this.template.length;
    this.linesPerCopy = parts.length;
    this.perCopy = counts;
  }

  /** The next copy starts no earlier than this time (ms since the epoch), e.g. now. */
  restartAt(ms: number): void {
    this.shift = Math.max(this.shift, Math.ceil(ms / 1000) - this.firstSec);
  }

  private secondsText(sec: number): Buffer {
    return Buffer.from(this.iso ? new Date(sec * 1000).toISOString().slice(0, 19) : String(sec));
  }

  /** n whole copies, each after the one before. */
  copies(n: number): Buffer {
    const out = Buffer.allocUnsafe(this.template.length * n);
    for (let c = 0; c < n; c++) {
      const o = c * this.template.length;
      this.template.copy(out, o);
      const texts: Buffer[] = [];
      for (let i = 0; i < this.at.length; i++) {
        const s = this.second[i]!;
        const text = texts[s] ??= this.secondsText(this.firstSec + this.shift + s);
        // Seconds of the same width: ten digits, or an ISO date and time.
        text.copy(out, o + this.at[i]!);
      }
      this.shift += this.stepSec;
    }
    return out;
  }

  /** How many copies make about `bytes` (at least one). */
  copiesFor(bytes: number): number {
    return Math.max(1, Math.round(bytes / this.bytesPerCopy));
  }
}
