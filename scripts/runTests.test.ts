import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..');

test('the test runner fails a test that hangs instead of waiting for it', { timeout: 60_000 }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qmig-runner-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'hang.test.ts');
  writeFileSync(file, "import { test } from 'node:test';\ntest('waits forever', () => new Promise(() => setInterval(() => undefined, 1000)));\n");
  const started = Date.now();
  // Without the test context node gives its child processes, the runner reports as it does on its own.
  const env: NodeJS.ProcessEnv = { ...process.env, QMW_TEST_TIMEOUT_MS: '500' };
  delete env['NODE_TEST_CONTEXT'];
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'run-tests.mjs'), file], { cwd: root, encoding: 'utf8', timeout: 50_000, env });
  assert.equal(r.signal, null, 'the runner ended by itself');
  assert.notEqual(r.status, 0);
  assert.match(r.stdout, /test timed out after 500ms/);
  assert.ok(Date.now() - started < 45_000);
});
