/**
 * The time a log-backend line carries in its prefix, as epoch nanoseconds: `tid@sec.usec:`
 * (the default prefix) or an ISO-8601 UTC time (`-msg timestamp=on`, 10.1+). Used where one
 * line is looked at on its own (the editor's hover over a trace); whole traces are read by
 * the trace engine.
 */
const TID_PREFIX = /^\d+@(\d+)\.(\d{1,9}):/;
const ISO_PREFIX = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z /;

/** Nanoseconds of a fraction written with `digits` digits (`.5` is 500 000 000 ns). */
function fractionNs(digits: string | undefined): bigint {
  return digits === undefined || digits === '' ? 0n : BigInt(digits.padEnd(9, '0'));
}

export function linePrefixTimeNs(line: string): bigint | undefined {
  const tid = TID_PREFIX.exec(line);
  if (tid) return BigInt(tid[1]!) * 1_000_000_000n + fractionNs(tid[2]);
  const iso = ISO_PREFIX.exec(line);
  if (!iso) return undefined;
  const [, y, mo, d, h, mi, s, frac] = iso;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (!Number.isFinite(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + fractionNs(frac);
}
