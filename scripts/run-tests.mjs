// Runs the test suites with node's built-in test runner (TypeScript through tsx).
// Usage: node scripts/run-tests.mjs [unit|integration|e2e ...] [FILE.test.ts ...]
// unit:        src/**/*.test.ts, scripts/**/*.test.ts
// integration: test/integration/**/*.test.ts (real QEMU, DPDK testpmd)
// e2e:         test/e2e/**/*.test.ts (code-server + Playwright + Chromium; needs `npm run build`)
// Every test has a time limit, so a hang fails the run instead of stalling it: 120 s by default
// (QMW_TEST_TIMEOUT_MS overrides it); slower tests (real migrations, code-server) set their own.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const suites = { unit: ['src', 'scripts'], integration: ['test/integration'], e2e: ['test/e2e'] };
const args = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const given = args.filter((a) => a.endsWith('.test.ts'));
const wanted = args.filter((a) => !a.endsWith('.test.ts'));
const chosen = wanted.length || given.length ? wanted : Object.keys(suites);

function find(dir, out) {
  let names;
  try { names = readdirSync(dir); } catch { return out; }
  for (const name of names) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const files = [...given];
for (const suite of chosen) {
  const roots = suites[suite];
  if (!roots) { console.error(`unknown suite ${suite}; choose from ${Object.keys(suites).join(', ')}`); process.exit(2); }
  const found = roots.flatMap((r) => find(r, [])).sort();
  console.log(`# suite ${suite}: ${found.length} files`);
  files.push(...found);
}
if (files.length === 0) { console.error('no test files found'); process.exit(1); }
// One runner process for every file, so the run ends with one summary of all suites.
const timeoutMs = Number(process.env.QMW_TEST_TIMEOUT_MS ?? 120_000);
if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) { console.error(`QMW_TEST_TIMEOUT_MS must be a positive number of milliseconds, got ${process.env.QMW_TEST_TIMEOUT_MS}`); process.exit(2); }
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', `--test-timeout=${timeoutMs}`, ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
