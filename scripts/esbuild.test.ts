import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';

const root = resolve(__dirname, '..');

test('without clang the build goes on without the scanner, says so once, and traces are read by the JavaScript scanner', { timeout: 180_000 }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qmig-build-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // A copy of the tree (not dist/), and a PATH with node alone: no clang, no wasm-ld.
  for (const entry of ['esbuild.mjs', 'package.json', 'src', join('scripts', 'entryPoints.mjs')]) cpSync(join(root, entry), join(dir, entry), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  const built = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: dir, encoding: 'utf8', env: { PATH: bin, HOME: dir }, timeout: 150_000 });
  const out = `${built.stdout}${built.stderr}`;
  assert.equal(built.status, 0, out);
  assert.equal(out.match(/logscan\.wasm not built/g)?.length, 1, `said once: ${out}`);
  assert.match(out, /clang and wasm-ld not found \(apt-get install clang lld\)\. Traces are read by the JavaScript scanner/);
  assert.ok(existsSync(join(dir, 'dist', 'extension.js')) && existsSync(join(dir, 'dist', 'cli.js')));
  assert.ok(!existsSync(join(dir, 'dist', 'logscan.wasm')));

  const trace = join(root, 'demo', 'recordings', 'precopy-multifd', 'src-trace.log');
  if (!existsSync(trace)) return;
  const stats = spawnSync(process.execPath, [join(dir, 'dist', 'cli.js'), 'trace', 'stats', trace, '--json'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, QMW_LOGSCAN_WASM: '' } });
  assert.equal(stats.status, 0, stats.stderr);
  const parsed = JSON.parse(stats.stdout) as unknown;
  assert.match(JSON.stringify(parsed), /multifd_send/, `${dirname(trace)}: the trace is read`);
});
