import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sideOfRole, toJsonLines, transcriptLine, TranscriptRecorder } from './transcriptRecorder';

test('transcript lines carry the lab journal fields and are written as JSON lines', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qmig-transcript-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const line = transcriptLine(sideOfRole('source'), 'src', { time: 1_700_000_000_000, direction: 'out', kind: 'command', message: { execute: 'migrate' } });
  assert.deepEqual(line, { time: '2023-11-14T22:13:20.000Z', ms: 1_700_000_000_000, side: 'src', label: 'src', direction: 'out', kind: 'command', message: { execute: 'migrate' } });
  const r = new TranscriptRecorder(join(dir, 'qmp.jsonl'));
  r.write(line);
  r.write({ ...line, direction: 'in', kind: 'reply', message: { return: {} } });
  r.close();
  const text = readFileSync(join(dir, 'qmp.jsonl'), 'utf8');
  assert.equal(text, toJsonLines([line, { ...line, direction: 'in', kind: 'reply', message: { return: {} } }]));
  assert.equal(text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { kind: string }).map((l) => l.kind).join(), 'command,reply');
  assert.equal(toJsonLines([]), '');
});
