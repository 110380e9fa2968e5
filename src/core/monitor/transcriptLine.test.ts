import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sideOfRole, toJsonLines, transcriptLine } from './transcriptLine';

test('transcript lines carry the lab journal fields and are written as JSON lines', () => {
  const line = transcriptLine(sideOfRole('source'), 'src', { time: 1_700_000_000_000, direction: 'out', kind: 'command', message: { execute: 'migrate' } });
  assert.deepEqual(line, { time: '2023-11-14T22:13:20.000Z', ms: 1_700_000_000_000, side: 'src', label: 'src', direction: 'out', kind: 'command', message: { execute: 'migrate' } });
  const text = toJsonLines([line, { ...line, direction: 'in', kind: 'reply', message: { return: {} } }]);
  assert.ok(text.endsWith('}\n'), 'one line each, the last ended too');
  assert.equal(text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { kind: string }).map((l) => l.kind).join(), 'command,reply');
  assert.equal(toJsonLines([]), '');
});
