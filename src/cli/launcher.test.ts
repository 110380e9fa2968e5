/**
 * The built `qmig` (dist/cli.js) runs the command-line bundle from a code cache: one is
 * written by a run that found none, used by the next, replaced when V8 refuses it, and a
 * cache folder that cannot be made changes nothing a user sees.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildPrefix, bundleName, codeCachePath } from './launcher';
import { recordings } from '../core/trace/testSupport';

const dist = join(__dirname, '..', '..', 'dist');
const tmp = mkdtempSync(join(tmpdir(), 'qmig-launcher-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const trace = join(recordings, 'qemu-10.2.50-simpletrace-small', 'dst-trace.simple');

function qmig(cache: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(dist, 'cli.js'), ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, QMW_CACHE: cache } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The summary without its timing line (the rest is the same from run to run). */
const untimed = (s: string): string => s.split('\n').filter((l) => !/ in [\d.]+ ms /.test(l)).join('\n');

describe('qmig launcher', { timeout: 120_000 }, () => {
  it('writes a code cache on the first run of a command, runs from it after, and replaces one V8 refuses', () => {
    assert.ok(existsSync(join(dist, 'cli.js')) && existsSync(join(dist, bundleName)), 'the build made dist/cli.js and its bundle');
    const cache = join(tmp, 'cache');
    const first = qmig(cache, 'trace', 'stats', trace);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /720 events in 720 records/);
    const file = codeCachePath(buildPrefix(join(dist, bundleName)), ['trace', 'stats', trace], { QMW_CACHE: cache });
    assert.ok(existsSync(file), `${file} written`);
    const { size, mtimeMs } = statSync(file);
    assert.ok(size > 10_000, `a cache of ${size} bytes`);
    const second = qmig(cache, 'trace', 'stats', trace);
    assert.equal(second.status, 0, second.stderr);
    assert.equal(untimed(second.stdout), untimed(first.stdout));
    assert.equal(statSync(file).mtimeMs, mtimeMs, 'a cache V8 takes is read, not written again');
    // Another command has a cache of its own.
    assert.equal(qmig(cache, 'analyze', '--help').status, 0);
    assert.equal(readdirSync(join(cache, 'code-cache')).length, 2);
    // Garbage where the cache was: V8 refuses it, the run is the same, and the cache is written again.
    writeFileSync(file, Buffer.alloc(4096, 7));
    const third = qmig(cache, 'trace', 'stats', trace);
    assert.equal(third.status, 0, third.stderr);
    assert.equal(untimed(third.stdout), untimed(first.stdout));
    assert.notDeepEqual(readFileSync(file).subarray(0, 64), Buffer.alloc(64, 7), 'the refused cache was replaced');
  });

  it('runs as usual when the cache folder cannot be made', () => {
    const blocked = join(tmp, 'a-file');
    writeFileSync(blocked, 'not a folder');
    const r = qmig(blocked, 'trace', 'stats', trace);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /720 events in 720 records/);
    const bad = qmig(blocked, 'trace', 'stats', join(tmp, 'missing.simple'));
    assert.equal(bad.status, 1, 'a failing command keeps its exit status');
    assert.match(bad.stderr, /missing\.simple/);
  });
});
