// vhost-user rules: checking a 1 million message flow (goal < 1 s) and parsing the spec (goal < 50 ms).
// Each figure is printed with its ratio to a baseline measured in the same run on the same data.
// Usage: node --import tsx bench/vhostuser.bench.ts   (or: npm run bench vhostuser)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkFlow, parseFlow } from '../src/core/vhostuser/check';
import type { Flow, FlowMessage } from '../src/core/vhostuser/flow';
import { parseSpec } from '../src/core/vhostuser/specParser';
import { builtinSpec } from '../src/core/vhostuser/specSource';

const root = join(__dirname, '..');
const fixtures = process.env.QMW_FIXTURES ?? join(root, '..', 'shared', 'fixtures');
const rstPath = join(fixtures, 'qemu', '10.2.50', 'docs', 'interop', 'vhost-user.rst');
const recording = (k: string): string => readFileSync(join(root, 'src', 'core', 'vhostuser', 'testdata', `qemu72-testpmd-postcopy.${k}`), 'utf8');

function best(runs: number, fn: () => void): number {
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

const spec = builtinSpec();
const N = 1_000_000;

// 1. A 1M-message flow: the real strace capture's messages (payloads, flags, fds) repeated.
const real = parseFlow(recording('dst-strace.txt'), spec.model);
const messages: FlowMessage[] = new Array<FlowMessage>(N);
for (let i = 0; i < N; i++) {
  const m = real.messages[i % real.messages.length];
  if (!m) throw new Error('empty recording');
  messages[i] = { ...m, line: i + 1 };
}
const flow: Flow = { ...real, messages };
let violations = 0;
const check = best(3, () => { violations = checkFlow(flow, spec).violations.length; });
// Baseline: one plain loop over the same messages that looks each name up in a Map.
const counts = new Map<string, number>();
const loop = best(3, () => {
  counts.clear();
  for (const m of messages) { const k = m.name ?? ''; counts.set(k, (counts.get(k) ?? 0) + 1); }
});
console.log(`check 1M-message flow (strace payloads):   ${check.toFixed(0)} ms  (goal < 1000 ms; ${(check / loop).toFixed(1)}x a Map-counting loop over the same messages, ${loop.toFixed(0)} ms; ${violations} violations)`);

// 2. The same from text: a 1M-message QEMU trace (the real trace's vhost_user_write/read lines repeated),
//    read by the trace engine's line parser as an editor buffer is.
const traceLines = recording('dst-trace.log').split('\n').filter((l) => / req:\d+ flags:/.test(l));
const parts: string[] = [];
for (let i = 0; i < N; i++) parts.push(traceLines[i % traceLines.length] ?? '');
const traceText = parts.join('\n');
let parsedCount = 0;
const fromText = best(3, () => { const f = parseFlow(traceText, spec.model, { format: 'qemu-trace' }); parsedCount = f.messages.length; checkFlow(f, spec); });
const split = best(3, () => { parsedCount += traceText.split('\n').length * 0; });
console.log(`parse + check 1M-line QEMU trace (${(traceText.length / 1e6).toFixed(0)} MB):  ${fromText.toFixed(0)} ms  (${(fromText / split).toFixed(1)}x splitting the text into lines, ${split.toFixed(0)} ms; ${parsedCount} messages)`);

// 3. Parsing the 10.2.50 spec document.
const text = readFileSync(rstPath, 'utf8');
parseSpec(text);
const parse = best(20, () => { parseSpec(text); });
const read = best(20, () => { readFileSync(rstPath, 'utf8'); });
const cold = (() => { const t0 = performance.now(); parseSpec(readFileSync(rstPath, 'utf8')); return performance.now() - t0; })();
console.log(`parse vhost-user.rst (${text.split('\n').length} lines):           ${parse.toFixed(1)} ms  (goal < 50 ms; ${(parse / read).toFixed(0)}x reading the file, ${read.toFixed(2)} ms; read+parse once ${cold.toFixed(1)} ms)`);
