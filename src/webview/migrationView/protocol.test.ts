// The host's check of what the migration view's webview sends: the messages of the union
// pass with their fields, anything else is refused with a reason (never thrown).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkFromChart } from '../chart/protocol';
import { checkFromWebview } from './protocol';

const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]);

test('the messages of the union pass, with exactly their fields', () => {
  assert.deepEqual(checkFromWebview({ type: 'ready' }), { ok: true, value: { type: 'ready' } });
  assert.deepEqual(checkFromWebview({ type: 'openLine', side: 'dst', line: 42, extra: 'dropped' }), { ok: true, value: { type: 'openLine', side: 'dst', line: 42 } });
  assert.deepEqual(checkFromWebview({ type: 'follow', enabled: false }), { ok: true, value: { type: 'follow', enabled: false } });
  assert.deepEqual(checkFromWebview({ type: 'saveCsv', name: 'migration-view.csv', text: 'a,b\n' }), { ok: true, value: { type: 'saveCsv', name: 'migration-view.csv', text: 'a,b\n' } });
  const saved = checkFromWebview({ type: 'savePng', name: 'view.png', data: png.buffer });
  assert.ok(saved.ok && saved.value.type === 'savePng' && saved.value.data instanceof Uint8Array && saved.value.data.length === png.length, 'an ArrayBuffer of PNG bytes is taken as bytes');
  assert.deepEqual(checkFromChart({ type: 'saveRecording' }), { ok: true, value: { type: 'saveRecording' } });
});

test('anything else is refused with the reason, never thrown', () => {
  const refused: [unknown, RegExp][] = [
    [null, /not a message object: null/],
    ['ready', /not a message object: a string/],
    [[{ type: 'ready' }], /not a message object: an array/],
    [{ type: 'reload' }, /unknown message type "reload"/],
    [{ type: 'openLine', side: 'left', line: 3 }, /side is a string .*not src or dst/],
    [{ type: 'openLine', side: 'src', line: 0 }, /line is number 0, not a positive integer/],
    [{ type: 'openLine', side: 'src', line: 2.5 }, /not a positive integer/],
    [{ type: 'openLine', side: 'src', line: '7' }, /line is a string/],
    [{ type: 'follow', enabled: 'yes' }, /enabled is a string .*not a boolean/],
    [{ type: 'saveCsv', name: '../../.bashrc', text: 'x' }, /not a plain file name/],
    [{ type: 'saveCsv', name: 'a\u001b]0;x\u0007.csv', text: 'x' }, /not a plain file name/],
    [{ type: 'saveCsv', name: 'a.csv', text: 42 }, /text is number 42/],
    [{ type: 'savePng', name: 'a.png', data: new Uint8Array([1, 2, 3]) }, /not PNG bytes/],
    [{ type: 'savePng', name: 'a.png', data: [0x89, 0x50] }, /data is an array of 2, not PNG bytes/],
    [{ type: 'saveRecording' }, /unknown message type/],
  ];
  for (const [raw, why] of refused) {
    const r = checkFromWebview(raw);
    assert.equal(r.ok, false, JSON.stringify(raw));
    if (!r.ok) assert.match(r.reason, why);
  }
  assert.equal(checkFromChart({ type: 'openLine', side: 'src', line: 1 }).ok, false);
});
