import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSpec } from './specParser';
import { lintAgainstC, lintSpec, lintSpecWithTree } from './lint';
import { readCConstants, readCConstantsFile } from './cEnums';
import { lineOf, rstPath, testdata, txtPath } from './testSupport';

const miniText = readFileSync(join(testdata, 'mini-spec.rst'), 'utf8');
const mini = parseSpec(miniText, 'mini-spec.rst');

test('spec lint: duplicate and skipped ids, skipped bits, names mentioned but never defined, gated on a missing feature', () => {
  const issues = lintSpec(mini).map((i) => `${i.code}@${i.line}`);
  assert.deepEqual(issues.sort(), [
    `duplicate-id@${lineOf(miniText, /^``VHOST_USER_POSTCOPY_ADVISE``/)}`,
    `gated-feature-undefined@${lineOf(miniText, /should be sent only when/)}`,
    `skipped-bit@${lineOf(miniText, /F_PAGEFAULT\s+3/)}`,
    `skipped-id@${lineOf(miniText, /^``VHOST_USER_SET_FEATURES``/)}`,
    `skipped-id@${lineOf(miniText, /^``VHOST_USER_SET_FEATURES``/)}`,
    `undefined-feature@${lineOf(miniText, /should be sent only when/)}`,
    `undefined-message@${lineOf(miniText, /SET_FEATURES_TWICE/)}`,
  ].sort());
});

test('spec lint of the real documents finds VHOST_USER_PROTOCOL_F_NET_MTU, which no version defines', () => {
  for (const p of [rstPath, txtPath]) {
    const issues = lintSpec(parseSpec(readFileSync(p, 'utf8'), p));
    assert.deepEqual(issues.map((i) => i.code), ['gated-feature-undefined', 'undefined-feature'], p);
    assert.match(issues[1]?.message ?? '', /VHOST_USER_PROTOCOL_F_NET_MTU is mentioned but not defined/);
  }
});

test('tree-sitter C reader: enumerators with explicit, hex and implicit values, and #defines', async () => {
  const cs = await readCConstantsFile(join(testdata, 'vhost-user-enums.c'));
  const get = (n: string): number | undefined => cs.find((c) => c.name === n)?.value;
  assert.equal(get('VHOST_USER_GET_STATUS'), 3);
  assert.equal(get('VHOST_USER_PROTOCOL_F_PAGEFAULT'), 3);
  assert.equal(get('VHOST_USER_F_PROTOCOL_FEATURES'), 30);
  assert.equal(cs.find((c) => c.name === 'VHOST_USER_BACKEND_IOTLB_MSG')?.enumName, 'VhostUserBackendRequest');
  assert.equal(cs.find((c) => c.name === 'VHOST_USER_GET_FEATURES')?.line, 5);
  const shifted = await readCConstants('enum E { A = 1ULL << 4, B };', 'x.c');
  assert.deepEqual(shifted.map((c) => [c.name, c.value]), [['A', 16], ['B', 17]]);
});

test('C-enum lint: value mismatch, message missing from C, message missing from the document', async () => {
  const cs = await readCConstantsFile(join(testdata, 'vhost-user-enums.c'));
  const issues = lintAgainstC(mini, cs).map((i) => `${i.code}:${i.message.split(' ').slice(0, 4).join(' ')}`);
  assert.deepEqual(issues.sort(), [
    'c-missing:front-end message VHOST_USER_POSTCOPY_END (5)',
    'c-value-mismatch:front-end message VHOST_USER_SET_FEATURES is',
    'doc-missing:front-end message VHOST_USER_GET_STATUS =',
  ].sort());
});

test('C-enum lint through a QEMU tree layout (hw/virtio/vhost-user.c)', async () => {
  const tree = mkdtempSync(join(tmpdir(), 'qmw-tree-'));
  try {
    mkdirSync(join(tree, 'hw', 'virtio'), { recursive: true });
    copyFileSync(join(testdata, 'vhost-user-enums.c'), join(tree, 'hw', 'virtio', 'vhost-user.c'));
    const issues = await lintSpecWithTree(mini, tree);
    const mismatch = issues.find((i) => i.code === 'c-value-mismatch');
    assert.equal(mismatch?.cFile, join(tree, 'hw', 'virtio', 'vhost-user.c'));
    assert.equal(mismatch?.cLine, 6);
    assert.equal(mismatch?.line, lineOf(miniText, /^``VHOST_USER_SET_FEATURES``/));
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
});
