import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drawChart, type Canvas2D, type ChartPalette } from './draw';
import { columnsOf, emptyColumns } from './protocol';

/** Records the calls a renderer makes, in place of a canvas. */
function recorder(): Canvas2D & { texts: string[]; at: Map<string, number>; lines: number; strokes: string[] } {
  const r = {
    fillStyle: '' as Canvas2D['fillStyle'], strokeStyle: '' as Canvas2D['strokeStyle'], lineWidth: 1, font: '',
    texts: [] as string[], at: new Map<string, number>(), lines: 0, strokes: [] as string[],
    fillRect: () => undefined, beginPath: () => undefined, moveTo: () => undefined,
    lineTo: () => void r.lines++, stroke: () => void r.strokes.push(String(r.strokeStyle)),
    fillText: (t: string, x: number) => { r.texts.push(t); r.at.set(t, x); },
    measureText: (t: string) => ({ width: t.length * 6 }),
  };
  return r;
}

const palette: ChartPalette = {
  foreground: 'fg', grid: 'grid', background: 'bg', series: ['s0', 's1'],
  markers: { MIGRATION: 'mig', MIGRATION_PASS: 'pass', STOP: 'stop', RESUME: 'resume' },
};

test('empty chart says it is waiting', () => {
  const r = recorder();
  drawChart(r, { width: 400, height: 200 }, emptyColumns(), [], ['mbps'], palette);
  assert.ok(r.texts.some((t) => /Waiting for a migration/.test(t)));
});

test('one strip per visible series, named as query-migrate names it, values in the unit their size calls for', () => {
  const c = columnsOf(Array.from({ length: 10 }, (_, i) => ({
    t: 1000 + i * 100, transferred: i * 12 * 2 ** 20, remaining: 0, mbps: i * 100, 'dirty-pages-rate': i * 1000, 'pages-per-second': 0, 'dirty-sync-count': Math.floor(i / 3), 'postcopy-requests': 0,
  })));
  const r = recorder();
  drawChart(r, { width: 600, height: 400 }, c, [
    { t: 1500, kind: 'MIGRATION_PASS', text: '2' },
    { t: 1900, kind: 'MIGRATION', text: 'completed' },
    { t: 99_999, kind: 'STOP', text: '' },
  ], ['transferred', 'mbps', 'dirty-pages-rate', 'dirty-sync-count'], palette);
  assert.ok(r.texts.includes('transferred  max 108 MiB  last 108 MiB'), r.texts.join(' | '));
  assert.ok(r.texts.includes('mbps  max 900 Mbit/s  last 900 Mbit/s'));
  assert.ok(r.texts.includes('dirty-pages-rate  max 9,000 pages/s  last 9,000 pages/s'));
  assert.ok(r.texts.includes('dirty-sync-count  max 3  last 3'));
  assert.ok(r.texts.includes('last 900 ms'), 'the time shown, in the unit its length calls for');
  assert.ok(r.texts.includes('pass 2'));
  assert.ok(r.at.get('MIGRATION completed')! + 'MIGRATION completed'.length * 6 <= 600, 'a marker label at the right edge is drawn left of its line, whole');
  assert.ok(!r.strokes.includes('stop'), 'marker outside the range is not drawn');
  assert.ok(r.strokes.includes('s0') && r.strokes.includes('s1'));
});
