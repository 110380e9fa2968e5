// Runs every benchmark: bench/*.bench.ts (through tsx) and bench/*.bench.mjs, one after another.
// Usage: node scripts/run-bench.mjs [name-filter] [-- args passed to each bench]
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const filters = (dash >= 0 ? argv.slice(0, dash) : argv).filter((a) => !a.startsWith('-'));
const passArgs = dash >= 0 ? argv.slice(dash + 1) : [];
const files = readdirSync('bench')
  .filter((n) => n.endsWith('.bench.ts') || n.endsWith('.bench.mjs'))
  .filter((n) => filters.length === 0 || filters.some((f) => n.includes(f)))
  .sort();
let status = 0;
for (const name of files) {
  const file = join('bench', name);
  console.log(`\n# bench ${file}`);
  const nodeArgs = name.endsWith('.ts') ? ['--import', 'tsx', file, ...passArgs] : [file, ...passArgs];
  const r = spawnSync(process.execPath, nodeArgs, { stdio: 'inherit' });
  if (r.status !== 0) { console.error(`${file} failed (exit ${r.status ?? r.signal})`); status = 1; }
}
if (files.length === 0) console.log('no benchmarks found in bench/');
process.exit(status);
