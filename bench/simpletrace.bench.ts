/**
 * Simpletrace with a real event mix, whole process from start to exit, side by side in one
 * run: `qmig trace stats FILE` (the built CLI, dist/cli.js) against QEMU's own
 * scripts/simpletrace.py (QEMU 10.0.2's source tree, the machine's python3, every event
 * printed to /dev/null), with `cat` and `wc -l` as floors. The input is a ~70 MB simpletrace
 * file with the event mix of a 10.2 postcopy destination (bench/simpletraceMix.ts).
 * Each round runs every command once, in turn, in fresh processes, so the machine's load
 * falls on all of them alike; figures are the best and the median of the rounds.
 * Usage: node --import tsx bench/simpletrace.bench.ts [--runs N] [--events N] [--check]
 * (--check: also count the lines simpletrace.py prints, untimed, against the events qmig counts).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { homedir, availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { generateSimpletraceMix, mixTraceEvents } from './simpletraceMix';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const runs = Number(opt('--runs') ?? '') || 5;
const events = Number(opt('--events') ?? '') || 1_450_000;
const root = join(__dirname, '..');
const dataDir = join(__dirname, '.data');
const file = join(dataDir, `postcopy-mix-${events}.simple`);
const qemuSrc = process.env.QMW_QEMU_SRC ?? join(process.env.QMW_CACHE ?? join(homedir(), '.cache', 'qemu-migration-workbench'), 'qemu-src', '10.0.2');
const simpletracePy = join(qemuSrc, 'scripts', 'simpletrace.py');

interface Cmd { readonly label: string; readonly argv: readonly string[] }

const cli = join(root, 'dist', 'cli.js');
const commands: Cmd[] = [
  { label: '`cat` to /dev/null', argv: ['cat', file] },
  { label: '`wc -l`', argv: ['wc', '-l', file] },
  { label: '`node -e 0` (Node starting and exiting)', argv: [process.execPath, '-e', '0'] },
  { label: '`qmig trace stats FILE` (catalogue chosen by the workbench)', argv: [process.execPath, cli, 'trace', 'stats', file] },
  { label: '`qmig trace stats --trace-events trace-events-all FILE`', argv: [process.execPath, cli, 'trace', 'stats', '--trace-events', mixTraceEvents, file] },
  { label: '`python3 simpletrace.py trace-events-all FILE` (QEMU 10.0.2)', argv: ['python3', simpletracePy, mixTraceEvents, file] },
];

/** Runs a command with stdout to /dev/null; the wall time from spawn to exit, in seconds. */
function timed(c: Cmd): Promise<number> {
  const devnull = openSync('/dev/null', 'w');
  const t0 = process.hrtime.bigint();
  return new Promise<number>((resolve, reject) => {
    const child = spawn(c.argv[0]!, c.argv.slice(1), { stdio: ['ignore', devnull, 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      closeSync(devnull);
      if (code !== 0) reject(new Error(`${c.argv.join(' ')} exited with ${code}: ${stderr.slice(0, 2000)}`));
      else resolve(s);
    });
  });
}

/** Events qmig counts in the file (its JSON summary), and the catalogue it chose. */
function qmigCount(): { events: number; catalogue: string; errors: unknown[] } {
  const r = spawnSync(process.execPath, [cli, 'trace', 'stats', '--json', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`qmig trace stats --json failed: ${r.stderr}`);
  const j = JSON.parse(r.stdout) as { totalEvents: number; catalogue: string; errors: unknown[] };
  return { events: j.totalEvents, catalogue: j.catalogue, errors: j.errors };
}

/** Lines simpletrace.py prints (one per event), counted as they stream. */
function pythonLines(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [simpletracePy, mixTraceEvents, file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let n = 0;
    child.stdout.on('data', (d: Buffer) => { for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) n++; });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(n) : reject(new Error(`simpletrace.py exited with ${code}`))));
  });
}

const median = (xs: readonly number[]): number => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };
const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

async function main(): Promise<void> {
  if (!existsSync(simpletracePy)) throw new Error(`${simpletracePy} is missing (QEMU 10.0.2's source tree: scripts/setup-qemu10.sh)`);
  mkdirSync(dataDir, { recursive: true });
  if (!existsSync(file)) {
    console.log(`generating ${file}…`);
    const g = generateSimpletraceMix(file, events);
    console.log(`${g.events} events of ${g.counts.length} kinds (${g.withStrings} with string arguments), ${g.bytes} bytes`);
  }
  const build = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (build.status !== 0) throw new Error('build failed');
  const bytes = statSync(file).size;
  const count = qmigCount();
  if (count.errors.length > 0) throw new Error(`qmig reports errors: ${JSON.stringify(count.errors)}`);
  if (args.includes('--check')) {
    const lines = await pythonLines();
    if (lines !== count.events) throw new Error(`simpletrace.py printed ${lines} events, qmig counted ${count.events}`);
    console.log(`simpletrace.py printed ${lines} events, as many as qmig counts`);
  }
  // Page cache warm for every reader.
  await timed(commands[0]!);
  const load0 = loadavg();
  const times = commands.map(() => [] as number[]);
  for (let r = 0; r < runs; r++) {
    for (let k = 0; k < commands.length; k++) times[k]!.push(await timed(commands[k]!));
    console.log(`round ${r + 1}/${runs}: ${commands.map((c, k) => `${fmt(times[k]![r]!)} s`).join(', ')}`);
  }
  const load1 = loadavg();
  const py = commands.length - 1;
  const pyTimes = times[py]!;
  console.log('');
  console.log(`${new Date().toISOString()}: ${file}, ${fmt(bytes / 1e6)} MB, ${count.events} events, qmig catalogue ${count.catalogue}; ${availableParallelism()} cores, node ${process.version}; load average (1, 5, 15 min) at start ${load0.map((x) => x.toFixed(2)).join(' ')}, at end ${load1.map((x) => x.toFixed(2)).join(' ')}; ${runs} rounds`);
  console.log('');
  console.log('| command, whole process | best | median | every round | `simpletrace.py` ÷ this (best, median, per round) |');
  console.log('|---|---|---|---|---|');
  commands.forEach((c, k) => {
    const t = times[k]!;
    const perRound = t.map((x, r) => pyTimes[r]! / x);
    const ratio = k === py ? '–' : `${fmt(Math.min(...pyTimes) / Math.min(...t))}×, ${fmt(median(pyTimes) / median(t))}×, ${fmt(Math.min(...perRound))}–${fmt(Math.max(...perRound))}×`;
    console.log(`| ${c.label} | ${fmt(Math.min(...t))} s | ${fmt(median(t))} s | ${t.map(fmt).join(', ')} | ${ratio} |`);
  });
  const stats = times[3]!;
  const goal = median(pyTimes) / median(stats);
  console.log('');
  console.log(`qmig trace stats: ${fmt(bytes / 1e6 / median(stats))} MB/s, ${fmt(count.events / median(stats) / 1e6)} M events/s whole process (median); ${fmt(goal)}× simpletrace.py (goal ≥ 30×: ${goal >= 30 ? 'met' : 'not met'})`);
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
