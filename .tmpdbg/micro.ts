import { readFileSync } from 'node:fs';
const buf = readFileSync('/work/main/bench/.data/trace-128m.log');
function scan(): number { let p = 0, n = 0; const end = buf.length; while (p < end) { let nl = buf.indexOf(10, p); if (nl < 0) nl = end; n++; p = nl + 1; } return n; }
function scanJs(): number { let n = 0; for (let i = 0; i < buf.length; i++) if (buf[i] === 10) n++; return n; }
const IDENT = new Uint8Array(256); for (let c = 0; c < 256; c++) IDENT[c] = /[A-Za-z0-9_]/.test(String.fromCharCode(c)) ? 1 : 0;
function prefixAndName(): number {
  let p = 0, n = 0, acc = 0; const end = buf.length;
  while (p < end) {
    let nl = buf.indexOf(10, p); if (nl < 0) nl = end;
    let i = p, v = 0;
    while (i < nl) { const d = buf[i]! - 48; if (d < 0 || d > 9) break; v = v * 10 + d; i++; }
    i++; let sec = 0; while (i < nl) { const d = buf[i]! - 48; if (d < 0 || d > 9) break; sec = sec * 10 + d; i++; }
    i++; let fr = 0; while (i < nl) { const d = buf[i]! - 48; if (d < 0 || d > 9) break; fr = fr * 10 + d; i++; }
    i++; let h = 0x811c9dc5 | 0; while (i < nl) { const c = buf[i]!; if (IDENT[c] === 0) break; h = Math.imul(h ^ c, 0x01000193); i++; }
    acc += h + v + sec + fr; n++; p = nl + 1;
  }
  return n + (acc & 1);
}
for (const [name, fn] of [['indexOf', scan], ['js loop', scanJs], ['prefix+name', prefixAndName], ['indexOf', scan], ['js loop', scanJs], ['prefix+name', prefixAndName]] as const) {
  const t0 = process.hrtime.bigint(); const n = fn(); const ms = Number(process.hrtime.bigint() - t0) / 1e6; console.log(name, n, ms.toFixed(0), 'ms', (buf.length / 1e6 / (ms / 1000)).toFixed(0), 'MB/s');
}
