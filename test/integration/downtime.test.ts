/**
 * Where the downtime went, on a fresh recording: the lab migrates its guest between two real
 * QEMU 10.0 processes (precopy over multifd, vmstate_downtime_* traced), and the waterfall of that
 * recording must equal its raw lines and sit inside the downtime query-migrate reported.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertDowntimeAgainstQueryMigrate, assertWaterfallEqualsRaw } from '../../src/core/analysis/testSupport';
import { runLab } from '../../src/core/lab/runner';
import { findExecutable } from '../../src/core/lab/process';
import { formatVersion, resolveQemu, type QemuInstall } from '../../src/core/qemu/installs';
import { requireComponent } from '../support/components';
import { assertFiguresEqualQueryMigrate } from '../support/figures';

test('QEMU 10.0 precopy-multifd: the downtime waterfall equals the raw vmstate_downtime_* lines', { timeout: 120_000 }, async (t) => {
  const qemu: QemuInstall | undefined = await resolveQemu('10.0').catch(() => undefined);
  if (!requireComponent(t, 'QEMU 10.0 (scripts/setup.sh)', qemu !== undefined)) return;
  if (!requireComponent(t, 'nasm', findExecutable('nasm') !== undefined)) return;
  const outDir = mkdtempSync(join(tmpdir(), 'qmig-downtime-it-'));
  t.after(() => rmSync(outDir, { recursive: true, force: true }));
  const r = await runLab({ scenario: 'precopy-multifd', outDir, qemu: qemu! });
  assert.equal(r.status, 'completed', r.error);
  await assertWaterfallEqualsRaw(outDir, formatVersion(qemu!.version));
  await assertDowntimeAgainstQueryMigrate(outDir);
  // The same recording's multifd figures (9.2+ formats, zero pages found by the multifd threads) against query-migrate.
  await assertFiguresEqualQueryMigrate(outDir);
});
