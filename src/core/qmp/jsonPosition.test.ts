import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeJsonPosition, jsonErrorPosition } from './jsonPosition';

/** The offset V8 reports for text, or -1 when it is JSON. */
function pos(text: string): number {
  try {
    JSON.parse(text);
    return -1;
  } catch (e) {
    return jsonErrorPosition(text, e);
  }
}

test('the position of a JSON error comes from V8, for every form of its message', () => {
  assert.equal(pos('{"a":1}'), -1);
  assert.equal(pos('{"a":}'), 5);
  assert.equal(pos('{a:1}'), 1);
  assert.equal(pos('{"a":1'), 6);
  assert.equal(pos('{"a":1} x'), 8);
  assert.equal(pos('[1, 2,]'), 6);
  assert.equal(pos('{"s":"\\x"}'), 7);
  assert.equal(pos('{"n":-}'), 6);
  assert.equal(pos('{"u": u}'), 6, 'an unexpected token in a short text, the same letter earlier in a string');
  // Texts of 21 characters or more: V8 shows 10 characters of context around the token.
  assert.equal(pos('{"a":1,"b":' + 'x'.repeat(50) + '}'), 11);
  assert.equal(pos('{"bb": xx, "cccccccccccccccccccccccccc": 1}'), 7);
  assert.equal(pos('{"cccccccccccccccccccccccccc": 1, "b": x}'), 39);
  assert.equal(pos('{"k": "xx", "k": "xx", "k": x, "k": "xxxxxxxxxxxx"}'), 28);
  assert.equal(pos(''), 0);
});

/** The position found the slow way: the first prefix that V8 rejects before its end. */
function oracle(text: string): number {
  for (let i = 0; i < text.length; i++) {
    try {
      JSON.parse(text.slice(0, i + 1));
    } catch (e) {
      const m = e instanceof Error ? e.message : '';
      const at = /at position (\d+)/.exec(m);
      const p = at ? Number(at[1]) : /Unexpected end/.test(m) ? i + 1 : i;
      if (p <= i) return p;
    }
  }
  return text.length;
}

test('every single-character change of a document is located where V8 stops, in every message form', () => {
  const doc = '{"uri":"unix:/tmp/m.sock","caps":[{"capability":"multifd","state":true}],"n":-12.5e3}';
  let checked = 0;
  for (let i = 0; i < doc.length; i++) {
    for (const c of ['}', 'x', ',', '"', ' ', ']', '-']) {
      const text = doc.slice(0, i) + c + doc.slice(i + 1);
      const p = pos(text);
      if (p < 0) continue;
      assert.equal(p, oracle(text), text);
      checked++;
    }
  }
  assert.ok(checked > 200, `${checked} changes checked`);
});

test('positions are described with line and column', () => {
  assert.equal(describeJsonPosition('{"uri":\n  unix}', 10), 'position 10 (line 2, column 3)');
});
