// The re-recording script's qmig lab runs are valid command lines of today's CLI, and each names
// the scenario and trace events its recording in src/core/vhostuser/testdata was made with.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseLabArgs } from '../src/cli/commands/lab';
import { labArgs, labRecordings, recordedTraceEvents } from './record-vhostuser-testdata';

test('each lab recording is a qmig lab command line the CLI accepts, as the testdata README lists it', () => {
  const readme = readFileSync(join(__dirname, '..', 'src', 'core', 'vhostuser', 'testdata', 'README.md'), 'utf8');
  for (const [name, r] of Object.entries(labRecordings)) {
    const [command, ...args] = labArgs(name, '/tmp/out');
    assert.equal(command, 'lab');
    const parsed = parseLabArgs(args);
    assert.equal(parsed.scenario, r.scenario);
    assert.equal(parsed.opts.qemu, r.qemu);
    assert.deepEqual(parsed.opts.traceEvents, recordedTraceEvents);
    assert.equal(parsed.opts.outDir, '/tmp/out');
    assert.ok(readme.includes(`| \`${name}\` | \`${r.scenario} --qemu ${r.qemu} ${r.options.join(' ')}\` |`), `the README lists ${name}`);
  }
});
